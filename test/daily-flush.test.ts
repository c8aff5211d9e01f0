// Per-day keys in Redis stay small and their flushes bounded: a small day-hour is sent in Redis's
// sparse encoding (PFMERGE keeps the key sparse), whose registers are exactly those a plain Redis
// holds after PFADDing the same elements; and a flush of tens of thousands of day-hours (a long
// retention replayed at once) goes in bounded round trips, costing bounded memory in the server
// and kilobytes per day in Redis. (Every day-hour went as a 12 KB dense value in one pipeline:
// 1.47 GB of RSS and +473 MB in Redis for 34,272 of them.)
import type { Redis } from 'ioredis'
import { describe, expect, it } from 'vitest'
import { createConsumer } from '../src/index.js'
import { valueRegisters } from './helpers/hll.js'
import { skipRedis, startRedis, useRedis } from './helpers/redis.js'
import { message, startServer } from './helpers/server.js'

const MS_PER_DAY = 86_400_000
const today = () => Math.floor(Date.now() / MS_PER_DAY)
const dateOf = (day: number) => new Date(day * MS_PER_DAY).toISOString().slice(0, 10)
const weekday = (day: number) => ((((day + 3) % 7) + 7) % 7) + 1 // 1 = Monday
const hh = (h: number) => String(h).padStart(2, '0')

/** Used memory of a Redis, in bytes. */
const usedMemory = async (client: Redis) => Number(/used_memory:(\d+)/.exec(await client.info('memory'))![1])

describe.skipIf(skipRedis())('day keys in Redis', () => {
  const redis = useRedis()

  it("hold exactly the registers PFADD gives, sparse while small, dense past the local sketch's 512 registers", async () => {
    const client = redis.client()
    // Day-hours of 1 to 3,000 users, on recent working days.
    const sizes = [1, 2, 7, 60, 300, 480, 700, 3000]
    const days: number[] = []
    for (let day = today() - 1; days.length < sizes.length; day--) if (weekday(day) <= 5) days.push(day)
    const lines: string[] = []
    const elements = new Map<string, string[]>()
    sizes.forEach((users, i) => {
      const key = `{sp:9}:${dateOf(days[i]!)}`
      elements.set(key, [])
      for (let u = 0; u < users; u++) {
        const ip = `10.${i}.${u >> 8}.${u & 255}`
        lines.push(`{"time":"${dateOf(days[i]!)} 09:${hh(u % 60)}:00","ip":"${ip}","status_code":503}`)
        elements.get(key)!.push(`${dateOf(days[i]!)} 09_${ip}`)
      }
    })
    const consumer = createConsumer({ daily: true, retainDays: 30, store: { redis: redis.url }, keyPrefix: 'sp:' })
    consumer.write(`${lines.join('\n')}\n`)
    await consumer.close()
    for (const [key, added] of elements) {
      const reference = `reference:${key}`
      for (let i = 0; i < added.length; i += 1000) await client.pfadd(reference, ...added.slice(i, i + 1000))
      const ours = (await client.getBuffer(key))!
      const theirs = (await client.getBuffer(reference))!
      expect(Buffer.from(valueRegisters(ours)).equals(Buffer.from(valueRegisters(theirs))), key).toBe(true)
      expect(await client.pfcount(key), key).toBe(await client.pfcount(reference))
      const registersSet = valueRegisters(ours).filter((r) => r > 0).length
      // Sent sparse while the local sketch is (≤ 512 registers): the key stayed sparse and small.
      if (registersSet <= 512) {
        expect(ours[4], `${key}: ${registersSet} registers, encoding`).toBe(1)
        expect(ours.length, key).toBeLessThan(2000)
      }
    }
    // One user: 16 bytes of header and 5 of opcodes, where a dense value is 12,304.
    expect((await client.getBuffer(`{sp:9}:${dateOf(days[0]!)}`))!.length).toBe(21)
  })

  it('a flush of 34,000 day-hours (--retain-days 2000 replayed at once): bounded round trips, server memory and Redis bytes', async () => {
    const store = await startRedis()
    try {
      const client = store.client()
      const server = await startServer(
        ['--daily', '--retain-days', '2000', '--http', '127.0.0.1:0', '--flush-interval', '600000', '--redis-timeout', '20000'],
        { REDIS_ADDRESS: store.url },
      )
      const base = `http://127.0.0.1:${((await server.waitForLog(message('HTTP endpoints'), 0)).http as { port: number }).port}`
      // One record per working day and hour of the retained days.
      const lines: string[] = []
      for (let day = today() - 1999; day <= today(); day++) {
        if (weekday(day) > 5) continue
        for (let hour = 0; hour < 24; hour++)
          lines.push(`{"time":"${dateOf(day)} ${hh(hour)}:15:00","ip":"10.0.0.${hour}","status_code":500}`)
      }
      expect(lines.length).toBeGreaterThan(34_000)
      const before = { rss: server.rss(), redis: await usedMemory(client) }
      let peak = before.rss
      const sampler = setInterval(() => (peak = Math.max(peak, server.rss())), 20)
      const answer = await fetch(`${base}/ingest?sync=1`, { method: 'POST', body: `${lines.join('\n')}\n` })
      clearInterval(sampler)
      expect(await answer.json()).toMatchObject({ counted: lines.length, flushed: true })
      const grown = { rss: peak - before.rss, redis: (await usedMemory(client)) - before.redis }
      console.log(
        `--retain-days 2000 replay: RSS +${(grown.rss / 2 ** 20).toFixed(0)} MiB, Redis +${(grown.redis / 2 ** 20).toFixed(1)} MiB`,
      )
      // Dense values in one pipeline took 1.4 GB of RSS and 473 MB in Redis for these.
      expect(grown.rss, `RSS grew ${(grown.rss / 2 ** 20).toFixed(0)} MiB`).toBeLessThan(200 * 2 ** 20)
      expect(grown.redis, `Redis grew ${(grown.redis / 2 ** 20).toFixed(1)} MiB`).toBeLessThan(lines.length * 400)
      // Every day-hour was merged (and the all-time hours).
      const stats = await client.info('commandstats')
      const merges = ['evalsha', 'eval'].reduce((n, c) => n + Number(new RegExp(`cmdstat_${c}:calls=(\\d+)`).exec(stats)?.[1] ?? 0), 0)
      expect(merges).toBeGreaterThanOrEqual(lines.length + 24)
      const sample = `{error_hour_9}:${dateOf(today() - (weekday(today()) > 5 ? weekday(today()) - 5 : 0))}`
      expect(await client.pfcount(sample)).toBe(1)
      expect(await server.stop()).toBe(0)
    } finally {
      await store.stop()
    }
  }, 180_000)
})
