// Counting where the requests are answered: a plain node:http server and a real Express app
// (consumer.middleware, trustProxy),
// a real Fastify app (loghour/fastify) and a real pino-http app (the loghour/pino transport in
// pino's worker), pinned with libfaketime to a Wednesday, answering curl from several 127.0.0.x
// addresses; each app's Redis keys equal PFCOUNT of a plain Redis PFADDed the expected elements.
// In-process, countRequest is checked against the same requests written as log lines.

import { spawn, spawnSync } from 'node:child_process'
import { EventEmitter } from 'node:events'
import { join } from 'node:path'
import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { createConsumer, OptionError } from '../src/index.js'
import { CURL } from './helpers/nginx.js'
import { pfcounts, skipRedis, useRedis } from './helpers/redis.js'
import { zonedReferenceCounts } from './helpers/reference.js'
import { LIBFAKETIME, missing, pinnedClock } from './helpers/tools.js'

const NOW = '2026-11-25 10:00:00' // a Wednesday, UTC
const NOW_MS = Date.parse('2026-11-25T10:00:00Z')
const CLIENTS = ['127.0.0.2', '127.0.0.3', '127.0.0.4']
const STATUSES = [200, 404, 500, 502, 503]

function request(port: number, from: string, status: number, headers: string[] = []): number {
  const args = ['-s', '-o', '/dev/null', '-w', '%{http_code}', '--interface', from, ...headers.flatMap((h) => ['-H', h])]
  return Number(spawnSync('curl', [...args, `http://127.0.0.1:${port}/s/${status}`]).stdout.toString())
}

type Sent = { utcMs: number; ip: string; status: number }

describe.skipIf(skipRedis() || missing('libfaketime (apt-get install faketime)', LIBFAKETIME !== undefined) || missing('curl', CURL))(
  'Express, Fastify and pino-http apps counting their own requests',
  () => {
    const redis = useRedis()
    const sent: Record<'node' | 'express' | 'fastify' | 'pino', Sent[]> = { node: [], express: [], fastify: [], pino: [] }

    beforeAll(async () => {
      await redis.client().flushall()
      const child = spawn(process.execPath, [join(__dirname, 'fixtures/request-apps.cjs'), redis.url], {
        env: { PATH: process.env.PATH, TZ: 'UTC', ...pinnedClock(NOW) },
        stdio: ['ignore', 'pipe', 'inherit'],
      })
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
      try {
        const ports = await new Promise<Record<keyof typeof sent, number>>((resolve, reject) => {
          child.stdout!.once('data', (d: Buffer) => resolve(JSON.parse(d.toString())))
          child.once('exit', () => reject(new Error('the apps exited')))
        })
        for (const app of ['node', 'express', 'fastify', 'pino'] as const) {
          for (const [i, ip] of CLIENTS.entries()) {
            for (const status of STATUSES.filter((_, k) => (k + i) % 2 === 0 || app === 'pino')) {
              expect(request(ports[app], ip, status)).toBe(status)
              sent[app].push({ utcMs: NOW_MS, ip, status })
            }
          }
        }
        // Behind one proxy of its own (trustProxy: 1): the address that proxy saw, not a spoofed one.
        expect(request(ports.express, '127.0.0.5', 503, ['X-Forwarded-For: 203.0.113.7'])).toBe(503)
        expect(request(ports.express, '127.0.0.5', 502, ['X-Forwarded-For: 198.51.100.1, 203.0.113.8'])).toBe(502)
        sent.express.push({ utcMs: NOW_MS, ip: '203.0.113.7', status: 503 }, { utcMs: NOW_MS, ip: '203.0.113.8', status: 502 })
      } finally {
        child.kill('SIGTERM')
      }
      expect(await exited).toBe(0)
    }, 60_000)

    it.each([
      ['node', 'Asia/Tokyo'],
      ['express', 'Europe/Berlin'],
      ['fastify', 'UTC'],
      ['pino', 'America/New_York'],
    ] as const)('%s (hours in %s): the Redis keys equal PFADD of the expected elements', async (app, zone) => {
      const got = await pfcounts(redis, `${app}:`)
      const want = await zonedReferenceCounts(redis, `ref-${app}:`, sent[app], zone)
      expect(got).toEqual(want)
      expect(got.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(3)
      if (app === 'pino') return
      // groupBy 'route': every request hit one route, so its group holds every hour; Express and
      // Fastify name the pattern they matched, plain node:http the URL as a route.
      const route = app === 'node' ? '/s/:id' : '/s/:status'
      expect(await pfcounts(redis, `{${app}:`, `}:group:${route}`)).toEqual(want)
      const client = redis.client()
      const listed = await Promise.all(Array.from({ length: 24 }, (_, h) => client.smembers(`{${app}:${h}}:groups`)))
      expect([...new Set(listed.flat())]).toEqual([route])
      await client.quit()
    })
  },
)

describe('countRequest and the middleware in process', () => {
  it('countRequest equals the same requests written as log lines, in any zone (registers identical)', () => {
    const event = fc.record({
      ip: fc.oneof(fc.ipV4(), fc.ipV6(), fc.constantFrom('10.0.0.1', 'a')),
      status: fc.constantFrom(200, 404, 500, 502, 503, 599, 600),
      time: fc.integer({ min: Date.UTC(2026, 0, 1), max: Date.UTC(2027, 0, 1) }),
    })
    fc.assert(
      fc.property(
        fc.array(event, { maxLength: 60 }),
        fc.constantFrom(undefined, 'Europe/Berlin', 'America/New_York', 'Asia/Kolkata'),
        (events, timezone) => {
          const direct = createConsumer(timezone ? { timezone } : {})
          const lines = createConsumer(timezone ? { timezone } : {})
          let counted = 0
          for (const e of events) {
            if (direct.countRequest(e.ip, e.status, e.time)) counted++
            lines.write(`${JSON.stringify({ time: new Date(e.time).toISOString(), ip: e.ip, status_code: e.status })}\n`)
          }
          for (let h = 0; h < 24; h++) expect(direct.exportHour(h).equals(lines.exportHour(h)), `hour ${h}`).toBe(true)
          expect(direct.lineCounts()).toEqual(lines.lineCounts())
          expect(direct.lineCounts().lines.counted).toBe(counted)
        },
      ),
      { numRuns: 100 },
    )
  })

  it('refuses malformed calls and options with an OptionError, never an abort', () => {
    const consumer = createConsumer()
    for (const bad of [
      () => consumer.countRequest(1 as unknown as string, 500),
      () => consumer.countRequest('a', 5.5),
      () => consumer.countRequest('a', 500, Number.NaN),
      () => consumer.middleware({ trustProxy: -1 }),
      () => consumer.middleware({ trustproxy: true } as never),
    ]) {
      expect(bad).toThrow(OptionError)
    }
    expect(consumer.countRequest('', 500, NOW_MS)).toBe(false)
    expect(consumer.lineCounts().invalid.missingField).toBe(1)
    expect(consumer.countRequest('10.0.0.1', 500, 1e300)).toBe(false)
    expect(consumer.lineCounts().invalid.badTime).toBe(1)
  })

  it('after close() nothing counts: countRequest answers false and the middleware lets requests pass', async () => {
    const consumer = createConsumer()
    const count = consumer.middleware()
    expect(consumer.countRequest('10.0.0.1', 500, NOW_MS)).toBe(true)
    const closing = consumer.close()
    expect(consumer.countRequest('10.0.0.2', 500, NOW_MS)).toBe(false) // from the moment close() is called
    await closing
    expect(consumer.countRequest('10.0.0.3', 500, NOW_MS)).toBe(false)
    const res = Object.assign(new EventEmitter(), { statusCode: 503, req: { socket: { remoteAddress: '10.0.0.4' }, headers: {} } })
    let passed = false
    count({} as never, res as never, () => (passed = true))
    res.emit('finish')
    expect(passed).toBe(true)
    expect(consumer.lineCounts().lines.total).toBe(1)
    expect((await consumer.stats()).hours.reduce((a, b) => a + b)).toBe(1)
  })
})
