import { describe, expect, it } from 'vitest'
import { createConsumer, createScanner, DEFAULT_CONSUMER_OPTIONS, OptionError } from '../src/index.js'

function messageOf(fn: () => unknown): string {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(OptionError)
    return (error as Error).message
  }
  throw new Error('expected an OptionError')
}

describe('consumer options', () => {
  it('applies the defaults', () => {
    expect(createConsumer().options).toEqual(DEFAULT_CONSUMER_OPTIONS)
    expect(DEFAULT_CONSUMER_OPTIONS).toMatchObject({ keyPrefix: 'error_hour_', maxLineBytes: 65536, flushIntervalMs: 1000 })
  })

  it('names an unknown option and suggests the close one', () => {
    expect(messageOf(() => createConsumer({ maxLineByte: 100 } as never))).toBe(
      'loghour: unknown option "maxLineByte" (did you mean "maxLineBytes"?); known options: maxLineBytes, format, schema, fields, timeUnit, timezone, sourceTimezone, envelope, framing, keyPrefix, flushIntervalMs, redisTimeoutMs, minReplicas, daily, retainDays, allUsers, usersKeyPrefix, minUsers, groupBy, maxGroups, top, snapshot, closeTimeoutMs, store',
    )
    expect(messageOf(() => createConsumer({ fields: { status_code: 'x' } } as never))).toMatch(
      /^loghour: unknown option "fields.status_code" \(did you mean "status"\?\); known options: time, ip, status$/,
    )
  })

  it('names a wrong type with what it accepts and what it got', () => {
    expect(messageOf(() => createConsumer({ maxLineBytes: '100' as never }))).toBe(
      'loghour: invalid option "maxLineBytes": expected an integer from 64 to 1073741824, got "100"',
    )
    expect(messageOf(() => createConsumer({ store: 'disk' as never }))).toBe(
      'loghour: invalid option "store": expected "memory", { redis: <URL string, or an ioredis Redis or Cluster instance>, tls?: { ca?, cert?, key? } } or { redisCluster: ["host:port", …], tls? }, got "disk"',
    )
    expect(messageOf(() => createConsumer({ fields: { ip: 7 } } as never))).toBe(
      'loghour: invalid option "fields.ip": expected a non-empty string of at most 256 characters (a dotted path: http.response.status_code), got 7',
    )
    expect(messageOf(() => createConsumer(42 as never))).toBe('loghour: options must be an object, got 42')
  })

  it('names an out-of-range value', () => {
    expect(messageOf(() => createConsumer({ maxLineBytes: 10 }))).toMatch(
      /"maxLineBytes": expected an integer from 64 to 1073741824, got 10$/,
    )
    expect(messageOf(() => createConsumer({ maxLineBytes: 100.5 }))).toMatch(/got 100.5$/)
    expect(messageOf(() => createConsumer({ flushIntervalMs: 0 }))).toMatch(
      /"flushIntervalMs": expected an integer from 10 to 86400000, got 0$/,
    )
    expect(messageOf(() => createConsumer({ keyPrefix: '' }))).toMatch(/"keyPrefix": expected a non-empty string/)
  })

  it('uses custom field names', async () => {
    const consumer = createConsumer({ fields: { time: 'ts', ip: 'client', status: 'code' } })
    consumer.write(
      '{"ts":"2019-05-06 09:00:00","client":"1.2.3.4","code":503}\n{"time":"2019-05-06 09:00:00","ip":"1.2.3.4","status_code":503}\n',
    )
    const stats = await consumer.stats()
    expect(stats.hours[9]).toBe(1)
    expect(stats.invalid.missingField).toBe(1)
  })

  it('store.tls applies to a rediss:// URL, with cert and key together', () => {
    const pem = '-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n'
    expect(messageOf(() => createConsumer({ store: { redis: 'redis://x', tls: { ca: pem } } }))).toBe(
      'loghour: invalid option "store": tls applies to rediss:// addresses only, got an object',
    )
    expect(messageOf(() => createConsumer({ store: { redis: 'rediss://x', tls: { cert: pem } } }))).toMatch(
      /tls.cert and tls.key go together/,
    )
    expect(messageOf(() => createConsumer({ store: { redis: 'rediss://x', tls: { ca: 'not pem' } } }))).toMatch(
      /^loghour: invalid option "store.tls.ca"/,
    )
  })

  it('scanner accepts only its own options', () => {
    expect(messageOf(() => createScanner({ store: 'memory' } as never))).toBe(
      'loghour: unknown scanner option "store"; known options: maxLineBytes, format, schema, fields, timeUnit, timezone, sourceTimezone, envelope, framing',
    )
    expect(messageOf(() => createScanner({ maxLineBytes: 1 }))).toMatch(/maxLineBytes/)
  })
})
