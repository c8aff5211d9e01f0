// loghour-server with the Redis store, against real redis-servers: the original service's test,
// concurrent connections, Redis paused and killed mid-stream, SIGTERM right after a sender.
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { createConsumer, demoLines } from '../src/index.js'
import { bin } from './helpers/cli.js'
import { pfaddReference, pfcounts, type RedisServer, skipRedis, startRedis, useRedis } from './helpers/redis.js'
import { cleanEnv, message, type ServerProcess, sendTcp, startServer } from './helpers/server.js'

const reference = readFileSync(join(__dirname, 'fixtures/reference-12.log'))

/**
 * Runs `body` against a redis-server that keeps its data across a kill (AOF, fsync always) and a
 * loghour-server merging into it every 100 ms under `prefix`; the redis-server is stopped after.
 */
async function withDurableRedis(prefix: string, body: (redis: RedisServer, server: ServerProcess) => Promise<void>): Promise<void> {
  const redis = await startRedis({ args: ['--appendonly', 'yes', '--appendfsync', 'always'] })
  try {
    const server = await startServer(['--flush-interval', '100', '--redis-timeout', '300', '--log-level', 'debug'], {
      REDIS_ADDRESS: redis.url,
      REDIS_HOUR_KEY_PREFIX: prefix,
    })
    await body(redis, server)
  } finally {
    await redis.stop()
  }
}

describe.skipIf(skipRedis())('loghour-server with Redis', () => {
  const redis = useRedis()

  it("the original service's test: error_hour_16 = 1, error_hour_17 = 4, every other hour 0", async () => {
    await redis.client().flushall()
    const server = await startServer([], { REDIS_ADDRESS: `127.0.0.1:${redis.port}` })
    await sendTcp(server.port, reference)
    expect(await server.stop('SIGTERM')).toBe(0)
    expect(await pfcounts(redis, 'error_hour_')).toEqual(Array.from({ length: 24 }, (_, h) => (h === 16 ? 1 : h === 17 ? 4 : 0)))
    expect(await redis.client().keys('*')).toEqual(expect.arrayContaining(['error_hour_16', 'error_hour_17']))
    expect((await redis.client().keys('*')).filter((k) => k.includes('delta'))).toEqual([])
  })

  it('LOGHOUR_FORMAT=clf: Combined lines over TCP land as PFADD of their elements would', async () => {
    // A week of nginx-style lines from 40 clients, every status class, weekend days included.
    const lines: string[] = []
    const elements = new Map<number, string[]>()
    const months = ['Nov', 'Dec']
    for (let i = 0; i < 2000; i++) {
      const day = 23 + (i % 10) // 23 Nov 2026 (Monday) … 2 Dec
      const [d, month] = day > 30 ? [day - 30, 1] : [day, 0]
      const hour = (i * 7) % 24
      const status = [200, 404, 500, 502, 503][i % 5]!
      const client = `127.0.0.${i % 40}`
      const date = `2026-${month === 0 ? '11' : '12'}-${String(d).padStart(2, '0')}`
      lines.push(
        `${client} - - [${String(d).padStart(2, '0')}/${months[month]}/2026:${String(hour).padStart(2, '0')}:15:00 -0500] "GET /x HTTP/1.1" ${status} 12 "-" "k6 \\x22q\\x22"`,
      )
      const weekday = new Date(`${date}T00:00:00Z`).getUTCDay()
      if (status >= 500 && weekday >= 1 && weekday <= 5)
        elements.set(hour, [...(elements.get(hour) ?? []), `${date} ${String(hour).padStart(2, '0')}_${client}`])
    }
    const server = await startServer([], { REDIS_ADDRESS: redis.url, REDIS_HOUR_KEY_PREFIX: 'clf_', LOGHOUR_FORMAT: 'clf' })
    await sendTcp(server.port, Buffer.from(`${lines.join('\n')}\n`))
    expect(await server.stop()).toBe(0)
    for (const [hour, list] of elements) await redis.client().pfadd(`clfref_${hour}`, ...list)
    expect(await pfcounts(redis, 'clf_')).toEqual(await pfcounts(redis, 'clfref_'))
    expect((await pfcounts(redis, 'clf_')).some((n) => n > 0)).toBe(true)
  })

  it('concurrent connections with random write sizes give exactly the registers of one stream', async () => {
    const data = demoLines(1, 1, 120_000)
    const server = await startServer(['--flush-interval', '50'], { REDIS_ADDRESS: redis.url, REDIS_HOUR_KEY_PREFIX: 'conc_' })
    // Eight connections, each a run of whole lines, each written in its own odd sizes.
    const slices: Buffer[] = []
    for (let i = 0, start = 0; i < 8; i++) {
      const end = i === 7 ? data.length : data.indexOf(0x0a, Math.floor(((i + 1) * data.length) / 8)) + 1
      slices.push(data.subarray(start, end))
      start = end
    }
    await Promise.all(slices.map((slice, i) => sendTcp(server.port, slice, [1 + i * 37, 4096 + i, 65536 * (i + 1), 7])))
    expect(await server.stop()).toBe(0)
    const one = createConsumer()
    one.write(data)
    await one.close()
    const expected = (await one.stats()).hours
    expect(await pfcounts(redis, 'conc_')).toEqual(expected)
    for (let h = 0; h < 24; h++) {
      const value = await redis.client().getBuffer(`conc_${h}`)
      // Same registers as the single stream; only the cache bytes of the header may differ.
      expect(value!.subarray(16).equals(one.exportHour(h).subarray(16)), `hour ${h}`).toBe(true)
    }
  })
})

describe.skipIf(skipRedis())('loghour-server while Redis fails', () => {
  it('Redis paused (SIGSTOP) and then killed and restarted (AOF) mid-stream: nothing lost', async () => {
    await withDurableRedis('fault_', async (redis, server) => {
      // Each step waits for what the server reports, never for a fixed time.
      const merged = async (data: Buffer) => {
        const from = server.logs.length
        await sendTcp(server.port, data)
        await server.waitForLog(message('flushed'), from)
      }
      const batches = Array.from({ length: 6 }, (_, i) => demoLines(1, 1 + i * 30_000, 30_000))
      await merged(batches[0]!)
      const paused = server.logs.length
      redis.process.kill('SIGSTOP')
      await sendTcp(server.port, batches[1]!)
      await server.waitForLog(message('store unavailable'), paused) // a merge timed out
      await sendTcp(server.port, batches[2]!)
      redis.process.kill('SIGCONT')
      await server.waitForLog(message('store reachable again'), 0)
      await sendTcp(server.port, batches[3]!)
      await redis.restart() // SIGKILL, then start again on the same port and directory
      await merged(batches[4]!) // the server reconnected and merged what it kept
      await sendTcp(server.port, batches[5]!)
      expect(await server.stop()).toBe(0)
      // One "unavailable" per outage, each followed by one "reachable again".
      const outages = server.logs.flatMap((r) =>
        message('store unavailable')(r) ? ['down'] : message('store reachable again')(r) ? ['up'] : [],
      )
      expect(outages.length).toBeGreaterThanOrEqual(2)
      expect(outages).toEqual(outages.map((_, i) => (i % 2 === 0 ? 'down' : 'up')))
      const all = Buffer.concat(batches)
      await pfaddReference(redis, all, 'ref_')
      expect(await pfcounts(redis, 'fault_')).toEqual(await pfcounts(redis, 'ref_'))
    })
  })

  it('SIGTERM immediately after a 1M-line `loghour send` finishes: nothing lost', async () => {
    const redis = await startRedis()
    try {
      const server = await startServer([], { REDIS_ADDRESS: redis.url, REDIS_HOUR_KEY_PREFIX: 'term_' })
      const data = demoLines(1, 1, 1_000_000)
      const sender = spawn(process.execPath, [bin('loghour.js'), 'send', '--port', String(server.port)], {
        env: cleanEnv(),
        stdio: ['pipe', 'ignore', 'pipe'],
      })
      sender.stdin.end(data)
      const code = await new Promise((r) => sender.once('exit', r))
      expect(code).toBe(0)
      expect(await server.stop('SIGTERM')).toBe(0)
      const one = createConsumer()
      one.write(data)
      await one.close()
      expect(await pfcounts(redis, 'term_')).toEqual((await one.stats()).hours)
      const final = server.logs.find((r) => r.msg.startsWith('stopped'))
      expect(final).toMatchObject({ accepted: 1, aborted: 0, droppedPartialBytes: 0 })
      const counted = [...server.logs].reverse().find((r) => r.lines) as unknown as { lines: { total: number } }
      expect(counted.lines.total).toBe(1_000_000)
    } finally {
      await redis.stop()
    }
  })

  it('SIGTERM while Redis is down: the final flush waits for Redis to come back, exit 0, nothing lost', async () => {
    await withDurableRedis('back_', async (redis, server) => {
      const before = demoLines(1, 1, 20_000)
      const during = demoLines(1, 20_001, 20_000)
      const from = server.logs.length
      await sendTcp(server.port, before)
      await server.waitForLog(message('flushed'), from) // merged, and kept by Redis's AOF
      const back = redis.restart(2000) // killed at once, down for 2 s: longer than any Redis timeout of the server
      await sendTcp(server.port, during)
      const code = server.stop('SIGTERM')
      await back
      expect(await code).toBe(0)
      await pfaddReference(redis, Buffer.concat([before, during]), 'ref_')
      expect(await pfcounts(redis, 'back_')).toEqual(await pfcounts(redis, 'ref_'))
    })
  })

  it('with Redis down at shutdown, the final flush retries for --close-timeout, then exits 1 and says so', async () => {
    const redis = await startRedis()
    const server = await startServer(['--redis-timeout', '500', '--close-timeout', '1'], { REDIS_ADDRESS: redis.url })
    await redis.stop()
    await sendTcp(server.port, reference)
    await server.waitForLog(message('store unavailable'), 0) // a flush of these lines failed
    expect(await server.stop()).toBe(1)
    expect(server.logs.some((r) => r.msg.startsWith('stopped, but the final flush failed'))).toBe(true)
  })
})
