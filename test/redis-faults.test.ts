// Redis faults that must not hang the server or lose counts silently, against real redis-servers:
// unreachable since start (refused, wrong password, TLS refused, not Redis at all), restarted
// empty, flushed while running, and ACL users with fewer rights.

import { readFileSync } from 'node:fs'
import { createServer, type Socket } from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createConsumer, demoLines } from '../src/index.js'
import { run } from './helpers/cli.js'
import { freePort, pfaddReference, pfcounts, type RedisServer, readmeAclRules, skipRedis, startRedis } from './helpers/redis.js'
import { cleanEnv, eventually, type ServerProcess, sendTcp, startServer } from './helpers/server.js'
import { selfSignedCertificate } from './helpers/tls.js'

const reference = readFileSync(join(__dirname, 'fixtures/reference-12.log'))
const CLOSE_TIMEOUT_S = 2

/** Something that listens and answers, but not in the Redis protocol: an SSH-like banner on connect. */
async function notRedis(): Promise<{ port: number; close(): void }> {
  const sockets = new Set<Socket>()
  const server = createServer((socket) => {
    sockets.add(socket)
    socket.on('error', () => {})
    socket.on('close', () => sockets.delete(socket))
    socket.write('SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n')
    socket.resume()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as { port: number }).port,
    close: () => {
      for (const s of sockets) s.destroy()
      server.close()
    },
  }
}

/** Sends the reference lines, waits for the outage to be logged, then times SIGTERM → exit. */
async function stopWhileUnreachable(server: ServerProcess): Promise<{ code: number | null; ms: number; down: string }> {
  await sendTcp(server.port, reference)
  await eventually(() => server.logs.some((r) => r.msg.startsWith('store unavailable')), 10_000, 'the outage to be logged')
  const started = Date.now()
  const code = await server.stop('SIGTERM')
  return { code, ms: Date.now() - started, down: server.logs.find((r) => r.msg.startsWith('store unavailable'))!.msg }
}

describe.skipIf(skipRedis())(
  'Redis unreachable since start: SIGTERM exits within --close-timeout + 1 s with exit 1, and the cause is logged',
  () => {
    const servers: { stop(): unknown }[] = []
    afterAll(async () => {
      for (const s of servers) await s.stop()
    })

    const cases: [string, () => Promise<{ url: string; cause: RegExp }>][] = [
      [
        'a refused port',
        async () => {
          const port = await freePort()
          return { url: `redis://127.0.0.1:${port}`, cause: new RegExp(`connect ECONNREFUSED 127.0.0.1:${port}`) }
        },
      ],
      [
        'a wrong password',
        async () => {
          const redis = await startRedis({ password: 'the-right-one' })
          servers.push(redis)
          return { url: `redis://:wrong-one@127.0.0.1:${redis.port}`, cause: /WRONGPASS/ }
        },
      ],
      [
        'TLS refused (a certificate the client does not trust)',
        async () => {
          const redis = await startRedis({ tls: selfSignedCertificate() })
          servers.push(redis)
          return { url: redis.url, cause: /self[- ]signed certificate/ }
        },
      ],
      [
        'a Redis that accepts connections but never answers (paused since start)',
        async () => {
          const redis = await startRedis()
          servers.push(redis)
          redis.process.kill('SIGSTOP') // the kernel still accepts the connection; nothing answers
          return { url: redis.url, cause: /connected, but no answer to the handshake/ }
        },
      ],
      [
        'a port where something else than Redis answers',
        async () => {
          const other = await notRedis()
          servers.push({ stop: () => other.close() })
          return { url: `redis://127.0.0.1:${other.port}`, cause: /does not speak the Redis protocol/ }
        },
      ],
    ]

    it.each(cases)('%s', async (_, setup) => {
      const { url, cause } = await setup()
      const server = await startServer(
        ['--close-timeout', String(CLOSE_TIMEOUT_S), '--flush-interval', '100', '--redis-timeout', '1000', '--log-level', 'debug'],
        {
          REDIS_ADDRESS: url,
        },
      )
      const { code, ms, down } = await stopWhileUnreachable(server)
      expect(code).toBe(1)
      expect(ms).toBeGreaterThanOrEqual(CLOSE_TIMEOUT_S * 1000 - 50) // it retried for the whole --close-timeout
      expect(ms).toBeLessThan(CLOSE_TIMEOUT_S * 1000 + 5000) // and then gave up
      expect(down).toMatch(cause)
      const final = server.logs.find((r) => r.msg.startsWith('stopped, but the final flush failed'))!
      expect(final.msg).toMatch(cause)
      // Nothing reaches stderr: each failed attempt of the final flush goes through the logger.
      expect(server.stderr()).toBe('')
      expect(server.logs.filter((r) => r.msg.startsWith('flush not confirmed')).length).toBeGreaterThan(0)
      // One outage, logged once, however many flushes failed in between.
      expect(server.logs.filter((r) => r.msg.startsWith('store unavailable'))).toHaveLength(1)
    })

    it('the library: flush() rejects at once with the cause, and never queues flushes up', async () => {
      const port = await freePort()
      const consumer = createConsumer({ store: { redis: `redis://127.0.0.1:${port}` }, closeTimeoutMs: 0 })
      consumer.write(reference)
      const started = Date.now()
      await expect(consumer.flush()).rejects.toThrow(new RegExp(`Redis at redis://127.0.0.1:${port} is unreachable: connect ECONNREFUSED`))
      // Far below the 5 s a merge may wait for an answer: nothing waits for a connection that is not there.
      expect(Date.now() - started).toBeLessThan(1000)
      // A hundred flushes asked for at once share one attempt after the running one.
      const all = await Promise.allSettled(Array.from({ length: 100 }, () => consumer.flush()))
      expect(all.every((r) => r.status === 'rejected')).toBe(true)
      await expect(consumer.close()).rejects.toThrow(/ECONNREFUSED/)
      await expect(consumer.stats()).rejects.toThrow(/ECONNREFUSED/) // after close: at once, from the final flush
    })

    it('loghour stats at a port where something else answers: one clear line, exit 1', async () => {
      const other = await notRedis()
      try {
        const r = await run('loghour.js', ['stats', '--redis', `127.0.0.1:${other.port}`], undefined, { env: cleanEnv() })
        expect(r.code).toBe(1)
        expect(r.stderr).toBe(
          `loghour: cannot read the hour keys: Redis at redis://127.0.0.1:${other.port} is unreachable: the server does not speak the Redis protocol (is this the address of a Redis server?)\n`,
        )
      } finally {
        other.close()
      }
    })
  },
)

describe.skipIf(skipRedis())('Redis that lost what it had: everything counted is merged again', () => {
  it('a Redis without persistence killed and restarted mid-stream: nothing lost, and the server says it merged everything again', async () => {
    const redis = await startRedis()
    try {
      const server = await startServer(['--flush-interval', '100', '--log-level', 'debug'], {
        REDIS_ADDRESS: redis.url,
        REDIS_HOUR_KEY_PREFIX: 'empty_',
      })
      const before = demoLines(1, 1, 30_000) // hours 9..17 of one day
      const after = demoLines(1, 100_001, 5_000) // the next day, hours 13 and 14
      await sendTcp(server.port, before)
      await eventually(async () => (await pfcounts(redis, 'empty_')).some((n) => n > 0), 10_000, 'the first merge')
      await redis.restart() // SIGKILL; starts again empty
      await sendTcp(server.port, after)
      expect(await server.stop()).toBe(0)
      const reset = server.logs.find((r) => r.msg.includes('merging everything this server counted since it started again'))
      expect(reset?.msg).toMatch(/is another instance now \(run_id/)
      await pfaddReference(redis, Buffer.concat([before, after]), 'ref_')
      expect(await pfcounts(redis, 'empty_')).toEqual(await pfcounts(redis, 'ref_'))
    } finally {
      await redis.stop()
    }
  })

  describe('the keys deleted while the same Redis runs (FLUSHALL)', () => {
    let redis: RedisServer
    beforeAll(async () => {
      redis = await startRedis()
    })
    afterAll(async () => {
      await redis?.stop()
    })

    it.each([
      ['new lines for the same hours', demoLines(1, 30_001, 2_000)],
      ['new lines for other hours only', Buffer.from('{"time":"2019-05-06 03:00:00","ip":"late","status_code":500}\n')],
      ['no new lines at all (noticed at close)', Buffer.alloc(0)],
    ])('%s', async (_, later) => {
      await redis.client().flushall()
      const consumer = createConsumer({ store: { redis: redis.url }, keyPrefix: 'gone_', flushIntervalMs: 60_000 })
      const resets: string[] = []
      consumer.on('storeReset', ({ reason }) => resets.push(reason))
      const first = demoLines(1, 1, 30_000)
      consumer.write(first)
      await consumer.flush()
      await redis.client().flushall()
      consumer.write(later)
      await consumer.close()
      expect(resets).toEqual([expect.stringMatching(/no longer has .* \(restarted empty, flushed or evicted\)/)])
      const whole = createConsumer()
      whole.write(Buffer.concat([first, later]))
      expect(await pfcounts(redis, 'gone_')).toEqual((await whole.stats()).hours)
    })
  })
})

describe.skipIf(skipRedis())('ACL users', () => {
  let redis: RedisServer
  /** The rights docs/redis.md lists ("Redis permissions"), for keys with the default prefix. */
  const MINIMAL = readmeAclRules()
  beforeAll(async () => {
    redis = await startRedis()
    const admin = redis.client()
    await admin.acl('SETUSER', 'minimal', 'on', '>pw', ...MINIMAL)
    await admin.acl('SETUSER', 'nodel', 'on', '>pw', ...MINIMAL.filter((r) => r !== '+del'))
    await admin.acl('SETUSER', 'nomerge', 'on', '>pw', ...MINIMAL.filter((r) => r !== '+pfmerge'))
  })
  afterAll(async () => {
    await redis?.stop()
  })

  const url = (user: string) => `redis://${user}:pw@127.0.0.1:${redis.port}`
  const sendAndStop = async (user: string) => {
    await redis.client().flushall()
    const server = await startServer(['--close-timeout', '1'], { REDIS_ADDRESS: url(user) })
    await sendTcp(server.port, reference)
    return { server, code: await server.stop() }
  }
  const referenceHours = Array.from({ length: 24 }, (_, h) => (h === 16 ? 1 : h === 17 ? 4 : 0))

  it('the documented minimal rights are enough: exact counts, nothing left behind, no warnings', async () => {
    const { server, code } = await sendAndStop('minimal')
    expect(code).toBe(0)
    expect(await pfcounts(redis, 'error_hour_')).toEqual(referenceHours)
    expect((await redis.client().keys('*')).filter((k) => k.includes('delta'))).toEqual([])
    expect(server.stderr()).toBe('')
    expect(server.logs.filter((r) => r.level >= 40)).toEqual([])
    const r = await run('loghour.js', ['stats', '--json', '--redis', url('minimal')], undefined, { env: cleanEnv() })
    expect(JSON.parse(r.stdout.toString()).hours).toEqual(referenceHours)
  })

  it('without DEL the merges still count as merged (the temporary key expires by itself)', async () => {
    const { code } = await sendAndStop('nodel')
    expect(code).toBe(0)
    expect(await pfcounts(redis, 'error_hour_')).toEqual(referenceHours)
    const left = (await redis.client().keys('*')).filter((k) => k.includes('delta'))
    expect(left.length).toBeGreaterThan(0)
    for (const key of left) expect(await redis.client().pttl(key)).toBeLessThanOrEqual(60_000)
  })

  it('without PFMERGE nothing is merged: exit 1, and the log says which right is missing', async () => {
    const { server, code } = await sendAndStop('nomerge')
    expect(code).toBe(1)
    expect(server.logs.find((r) => r.msg.startsWith('store unavailable'))?.msg).toMatch(
      /the Redis user may not run PFMERGE \(.*\); grant the rights listed under "Redis permissions" in docs\/redis\.md/,
    )
  })
})
