/**
 * loghour — at which hour of the working day (Monday–Friday) did the most distinct users (IPs)
 * hit server errors (HTTP 5xx)? Live, from streams of access logs as their producers write them
 * (JSON of any schema, nginx/Apache Combined, shipper envelopes), in the team's time zone.
 *
 * This module is the package's whole public API, named on purpose: the consumer (a
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
export { createConsumer, LogConsumer, type LogConsumerEvents, LogInput, listen } from './consumer.js'
export { type DemoPattern, demoLines, MAX_DEMO_LINES } from './demo.js'
export type { MiddlewareOptions, RequestCounter } from './middleware.js'
export { DENSE_SIZE, HOURS, NativeBindingError } from './native.js'
export {
  type ConsumerOptions,
  DEFAULT_CONSUMER_OPTIONS,
  DEFAULT_LISTEN_OPTIONS,
  type FieldNames,
  type InputTls,
  type ListenOptions,
  OptionError,
  type RecordFormat,
  type RecordFraming,
  type RedisTls,
  type ResolvedConsumerOptions,
  type ResolvedListenOptions,
  type SchemaName,
  type StoreOption,
  type TimeUnit,
} from './options.js'
export { renderStats } from './render.js'
export { createScanner, elementHash, LogScanner, type ScannerOptions, type ScanResult } from './scanner.js'
export { describeReading, type FieldPaths, type Reading, SCHEMAS, type Schema } from './schemas.js'
export { type ConnectionInfo, type ConnectionSummary, LogServer, type LogServerEvents, type ServerCounters } from './server.js'
export { INVALID_REASONS, type InvalidReason, type LineCounts, peakOf, type Stats } from './stats.js'
export { readHourCounts } from './stores/redis.js'
export { SnapshotError } from './stores/snapshot.js'
export type { FlushInfo, StoreReset } from './stores/store.js'
