// Compiled (never run) by test/package.test.ts against the root index.d.ts: the public types
// accept what the docs show and reject what they forbid.
import type { Writable } from 'node:stream'
import {
  createConsumer,
  createScanner,
  describeReading,
  elementHash,
  INVALID_REASONS,
  type InvalidReason,
  type LogConsumer,
  type LogServer,
  listen,
  OptionError,
  type Reading,
  SCHEMAS,
  type ScanResult,
  type SchemaName,
  type ServerCounters,
  SnapshotError,
  type Stats,
  type TimeUnit,
} from '../../index.js'

export async function usage(): Promise<void> {
  const consumer: LogConsumer = createConsumer({ maxLineBytes: 65536, keyPrefix: 'error_hour_', fields: { ip: 'client' } })
  const writable: Writable = consumer
  writable.write(Buffer.from('x'))
  consumer.write('{"time":"2019-05-06 17:25:54","ip":"10.0.121.67","status_code":500}\n')
  const stats: Stats = await consumer.stats()
  const peak: number | null = stats.peakHour
  const hours: number[] = stats.hours
  const reason: InvalidReason = INVALID_REASONS[0]!
  const n: number = stats.invalid[reason] + stats.lines.total + peak! + hours[0]!
  const dense: Buffer = consumer.exportHour(n % 24)
  await consumer.flush()
  await consumer.close()
  const scan: ScanResult = createScanner().scan(dense)
  const hash: bigint = scan.hashes[0]! + elementHash('x')
  const hour: number = scan.hours[0]!
  void [hash, hour, OptionError]

  const shared = createConsumer({ store: { redis: 'redis://localhost:6379/0' }, flushIntervalMs: 500, redisTimeoutMs: 2000 })
  shared.on('storeDown', (error: Error) => void error.message)
  shared.on('storeUp', ({ downtimeMs }) => void (downtimeMs satisfies number))
  shared.on('flushed', ({ hours, bytes, ms }) => void (hours + bytes + ms))
  const server: LogServer = await listen(shared, { port: 2525, host: '127.0.0.1', maxConnections: 100, idleTimeoutMs: 0 })
  const counters: ServerCounters = server.counters()
  void [server.address().port, counters.active, SnapshotError]
  const schema: SchemaName = 'ecs'
  const unit: TimeUnit = 'ms'
  createConsumer({ schema, timeUnit: unit, timezone: 'Europe/Berlin', sourceTimezone: 'UTC', envelope: 'message', framing: 'json-stream' })
  createScanner({ format: 'clf', fields: { ip: 'source.ip' } })
  const detected: Reading | undefined = createScanner({ format: 'auto' }).reading
  if (detected) void (describeReading(detected).length + (detected.readable ?? 0))
  void consumer.streamReadings().readings
  // @ts-expect-error format is auto, json or clf
  createConsumer({ format: 'nginx' })
  void Object.keys(SCHEMAS).length
  // @ts-expect-error no such schema
  createConsumer({ schema: 'nginx' })
  // @ts-expect-error framing is lines or json-stream
  createConsumer({ framing: 'ndjson' })
  // @ts-expect-error maxLineBytes is a number
  createConsumer({ maxLineBytes: '65536' })
  // @ts-expect-error unknown option
  createConsumer({ maxLineByte: 1 })
  // @ts-expect-error store is 'memory'
  createConsumer({ store: 'disk' })
  // @ts-expect-error stats are not synchronous
  consumer.stats().hours
  // @ts-expect-error the raw native classes are not exported
  void import('../../index.js').then((m) => m.NativeSketchSet)
}
