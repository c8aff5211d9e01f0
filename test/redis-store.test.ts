// The Redis store as a library user sees it: URL or own ioredis client, flush/stats semantics,
// cluster-safe temporary keys, and option errors.

import { once } from 'node:events'
import calculateSlot from 'cluster-key-slot'
import { Redis } from 'ioredis'
import { describe, expect, it } from 'vitest'
import { createConsumer, demoLines, OptionError } from '../src/index.js'
import { deltaKey, hourKey, keyPrefixProblem } from '../src/stores/keys.js'
import { skipRedis, startRedis, useRedis } from './helpers/redis.js'
import { eventually } from './helpers/server.js'

describe('key names', () => {
  it.each(['error_hour_', '{loghour}error_hour_', 'a{b', 'a{b{c', '{', 'pre{fix}{other}', 'pre{fix}}', 'é_'])(
    'the delta key of %s hashes to the hour key’s slot',
    (prefix) => {
      for (let h = 0; h < 24; h++) {
        const target = hourKey(prefix, h)
        expect(calculateSlot(deltaKey(target))).toBe(calculateSlot(target))
      }
    },
  )

  it('prefixes whose braces would break that are refused', () => {
    expect(keyPrefixProblem('a}b')).toMatch(/hash tag/)
    expect(keyPrefixProblem('{}x}')).toMatch(/hash tag/)
    expect(keyPrefixProblem('x:{}:y')).toMatch(/hash tag/)
    expect(keyPrefixProblem('{}{x')).toMatch(/hash tag/)
    expect(() => createConsumer({ keyPrefix: 'a}b' })).toThrow(OptionError)
  })
})

describe('Redis store options', () => {
  it('names a bad URL and refuses a snapshot with Redis', () => {
    expect(() => createConsumer({ store: { redis: 'http://x' } })).toThrow(
      'loghour: invalid option "store.redis": expected a redis:// or rediss:// URL, or an ioredis Redis or Cluster instance, got "http://x"',
    )
    expect(() => createConsumer({ store: { redis: 'redis://x' }, snapshot: 'f' })).toThrow(
      'loghour: option "snapshot" applies to the memory store only (Redis keeps the counts itself)',
    )
  })
})

describe.skipIf(skipRedis())('Redis store', () => {
  const redis = useRedis()

  it('flush merges only changes; stats answers from Redis; a user’s client is left open', async () => {
    const client = new Redis({ port: redis.port, lazyConnect: true })
    await client.connect()
    const consumer = createConsumer({ store: { redis: client }, keyPrefix: 'lib_', flushIntervalMs: 60_000 })
    expect(consumer.storeKind).toBe('redis')
    const flushes: number[] = []
    consumer.on('flushed', (info) => flushes.push(info.hours))
    consumer.write(demoLines(1, 1, 20_000))
    await consumer.flush()
    expect(flushes).toEqual([6]) // 20,000 seconds of lines: 6 hours
    // The local sketch keeps everything counted; Redis now holds the same registers.
    expect((await client.getBuffer('lib_10'))!.subarray(16).equals(consumer.exportHour(10).subarray(16))).toBe(true)
    await consumer.flush() // nothing new: no merge at all
    expect(flushes).toEqual([6])
    consumer.write('{"time":"2019-05-06 03:00:00","ip":"new","status_code":500}\n')
    const stats = await consumer.stats() // flushes first
    expect(flushes).toEqual([6, 1])
    const memory = createConsumer()
    memory.write(demoLines(1, 1, 20_000))
    memory.write('{"time":"2019-05-06 03:00:00","ip":"new","status_code":500}\n')
    expect(stats.hours).toEqual((await memory.stats()).hours)
    expect(stats.lines.total).toBe(20_001)
    await consumer.close()
    expect(client.status).toBe('ready')
    expect(await client.pfcount('lib_3')).toBe(stats.hours[3])
    client.disconnect()
  })

  it('an hour key holding something else: the error names it, other hours merge, nothing is left behind or lost', async () => {
    const client = redis.client()
    await client.set('odd_10', 'not a sketch')
    await client.set('odd_12', 'neither')
    const consumer = createConsumer({ store: { redis: redis.url }, keyPrefix: 'odd_', flushIntervalMs: 60_000, closeTimeoutMs: 0 })
    const merged: number[] = []
    consumer.on('flushed', (info) => merged.push(info.hours))
    const data = demoLines(1, 1, 20_000) // hours 9 to 14
    consumer.write(data)
    const failure = consumer.flush()
    await expect(failure).rejects.toThrow(/odd_10, odd_12 hold values that are not HyperLogLogs; delete or rename them \(WRONGTYPE/)
    await expect(consumer.stats()).rejects.toThrow(/odd_10, odd_12 hold values that are not HyperLogLogs/)
    expect((await client.keys('*')).filter((k) => k.includes('delta'))).toEqual([])
    await client.del('odd_12')
    await expect(consumer.flush()).rejects.toThrow(/odd_10 holds a value that is not a HyperLogLog; delete or rename it \(WRONGTYPE/)
    const memory = createConsumer()
    memory.write(data)
    const expected = (await memory.stats()).hours
    expect(await client.pfcount('odd_9')).toBe(expected[9])
    await client.del('odd_10') // the user fixes it: the kept hour lands with the next flush
    expect((await consumer.stats()).hours).toEqual(expected)
    expect(merged).toEqual([1]) // the only complete flush sent nothing but the refused hour 10
    await consumer.close()
  })

  it('merges in flight when Redis crashes are never waited for again: the next connection gets them', async () => {
    const other = await startRedis({ args: ['--appendonly', 'yes', '--appendfsync', 'always'] }) // keeps what it confirmed
    // A user's client that forgets unanswered commands at a reconnect without settling them.
    const client = new Redis({
      port: other.port,
      enableOfflineQueue: false,
      autoResendUnfulfilledCommands: false,
      maxRetriesPerRequest: null,
      retryStrategy: () => 100,
    })
    client.on('error', () => {})
    const consumer = createConsumer({ store: { redis: client }, keyPrefix: 'crash_', redisTimeoutMs: 200, flushIntervalMs: 60_000 })
    const data = demoLines(1, 1, 20_000)
    consumer.write(data.subarray(0, data.length >> 1))
    await consumer.flush()
    other.process.kill('SIGSTOP') // merges are written and stay unanswered
    consumer.write(data.subarray(data.length >> 1))
    await expect(consumer.flush()).rejects.toThrow(/no answer from Redis within 200 ms/)
    await other.restart() // those merges die with the connection
    await eventually(
      () =>
        consumer.flush().then(
          () => true,
          () => false,
        ),
      10_000,
      'a flush on the new connection',
    )
    const memory = createConsumer()
    memory.write(data)
    expect((await consumer.stats()).hours).toEqual((await memory.stats()).hours)
    await consumer.close()
    client.disconnect()
    await other.stop()
  })

  it('while Redis is unreachable, flush and stats reject, counting goes on, and it all lands later', async () => {
    const other = await startRedis()
    const consumer = createConsumer({ store: { redis: other.url }, keyPrefix: 'down_', redisTimeoutMs: 200, flushIntervalMs: 100 })
    const events: string[] = []
    consumer.on('storeDown', () => events.push('down'))
    consumer.on('storeUp', () => events.push('up'))
    consumer.write(demoLines(1, 1, 10_000))
    await consumer.flush()
    other.process.kill('SIGSTOP')
    consumer.write(demoLines(1, 10_001, 10_000))
    await expect(consumer.flush()).rejects.toThrow(/Redis merge not confirmed \(changes kept locally\)/)
    await expect(consumer.stats()).rejects.toThrow(/not confirmed/)
    // More flushes fail while it stays down (each waits for its timeout): still one event.
    for (let i = 0; i < 3; i++) await expect(consumer.flush()).rejects.toThrow(/not confirmed/)
    consumer.write(demoLines(1, 20_001, 10_000))
    other.process.kill('SIGCONT')
    await once(consumer, 'storeUp')
    const stats = await consumer.stats()
    const memory = createConsumer()
    memory.write(demoLines(1, 1, 30_000))
    expect(stats.hours).toEqual((await memory.stats()).hours)
    expect(events).toEqual(['down', 'up'])
    await consumer.close()
    await other.stop()
  })
})
