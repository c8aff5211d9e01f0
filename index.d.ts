/**
 * loghour — at which hour of the working day (Monday–Friday) did the most distinct users (IPs)
 * hit server errors (HTTP 5xx)? Live, from streams of JSON access logs.
 *
 * This is the package's typed entry. It names the public API on purpose: the consumer (a
 * `Writable` that counts lines into 24 Redis-identical HyperLogLogs), the scanner for embedders
 * with their own storage, options, statistics and helpers. The raw native classes are not part
 * of it.
 *
 * @example
 * ```ts
 * import { createConsumer } from 'loghour'
 * const consumer = createConsumer({ maxLineBytes: 65536 })
 * consumer.write('{"time":"2019-05-06 17:25:54","ip":"10.0.121.67","status_code":500}\n')
 * const { peakHour, hours } = await consumer.stats() // 17, hours[17] === 1
 * await consumer.close()
 * ```
 * @packageDocumentation
 */
export {
  // Counting lines into hourly sketches.
  createConsumer,
  LogConsumer,
  LogInput,
  type LogConsumerEvents,
  type ConsumerOptions,
  type StoreOption,
  type ResolvedConsumerOptions,
  type FieldNames,
  DEFAULT_CONSUMER_OPTIONS,
  OptionError,
  // Stores: Redis merges and the memory store's snapshot file.
  type FlushInfo,
  type StoreReset,
  SnapshotError,
  // The TCP input (the original service's protocol).
  listen,
  LogServer,
  type LogServerEvents,
  type ListenOptions,
  type ServerCounters,
  type ConnectionSummary,
  // The answer.
  type Stats,
  type LineCounts,
  type InvalidReason,
  INVALID_REASONS,
  peakOf,
  renderStats,
  // Dedup-ready results for embedders with their own storage.
  createScanner,
  LogScanner,
  type ScannerOptions,
  type ScanResult,
  elementHash,
  // The original service's demo streams.
  demoLines,
  MAX_DEMO_LINES,
  type DemoPattern,
} from './dist/index'
