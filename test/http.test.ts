// The HTTP endpoints of loghour-server (--http): Prometheus metrics that promtool accepts and
// that equal stats() after a known input, liveness, and readiness against a real Redis paused,
// resumed and stopped.
import { spawnSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { skipRedis, startRedis } from './helpers/redis.js'
import { eventually, message, type ServerProcess, sendTcp, startServer } from './helpers/server.js'
import { missing } from './helpers/tools.js'

const PROMTOOL = spawnSync('promtool', ['--version']).status === 0

/** Starts a server with the HTTP endpoints on a free port; resolves with both ports. */
async function withHttp(args: string[] = []): Promise<{ server: ServerProcess; base: string }> {
  const server = await startServer(['--http', '127.0.0.1:0', ...args])
  const record = await server.waitForLog(message('HTTP endpoints'), 0)
  const { port } = record.http as { port: number }
  return { server, base: `http://127.0.0.1:${port}` }
}

/** `name{labels} value` lines of a Prometheus text exposition, by series. */
function series(text: string): Map<string, number> {
  const out = new Map<string, number>()
  for (const line of text.split('\n')) {
    const m = /^([a-z_:]+(?:\{[^}]*\})?) (\S+)$/.exec(line)
    if (m) out.set(m[1]!, Number(m[2]))
  }
  return out
}

describe('loghour-server --http', () => {
  it('serves /metrics (promtool-clean, equal to stats()), /healthz, /readyz, /stats', async () => {
    const { server, base } = await withHttp()
    const lines = [
      '{"time":"2026-11-23 09:15:00","ip":"a","status_code":503}',
      '{"time":"2026-11-23 09:20:00","ip":"b","status_code":500}',
      '{"time":"2026-11-23 10:00:00","ip":"a","status_code":200}',
      '{"time":"2026-11-23 10:00:00","ip":"a","status_code":"500"}',
      'not json',
      '',
    ]
    const sent = Buffer.from(`${lines.join('\n')}\n`)
    await sendTcp(server.port, sent)
    let stats = { lines: { total: 0, counted: 0, skipped: 0, invalid: 0 }, hours: [] as number[] }
    await eventually(
      async () => {
        stats = (await (await fetch(`${base}/stats`)).json()) as typeof stats
        return stats.lines.total === 5
      },
      10_000,
      'the lines counted',
    )
    const response = await fetch(`${base}/metrics`)
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
    const text = await response.text()
    const m = series(text)
    expect(m.get('loghour_lines_total{outcome="counted"}')).toBe(stats.lines.counted)
    expect(m.get('loghour_lines_total{outcome="skipped"}')).toBe(stats.lines.skipped)
    expect(m.get('loghour_lines_total{outcome="invalid"}')).toBe(stats.lines.invalid)
    expect(m.get('loghour_lines_total{outcome="blank"}')).toBe(1)
    expect(m.get('loghour_invalid_lines_total{reason="json"}')).toBe(1)
    expect(m.get('loghour_invalid_lines_total{reason="wrongType"}')).toBe(1)
    for (let h = 0; h < 24; h++) expect(m.get(`loghour_hour_users{hour="${h}"}`), `hour ${h}`).toBe(stats.hours[h])
    expect(m.get('loghour_peak_hour')).toBe(9)
    expect(m.get('loghour_received_bytes_total')).toBe(sent.length)
    expect(m.get('loghour_connections_total')).toBe(1)
    expect(m.get('loghour_connections_open')).toBe(0)
    expect(m.get('loghour_store_up')).toBe(1)
    expect(m.has('process_resident_memory_bytes')).toBe(true)
    if (!missing('promtool (apt-get install prometheus)', PROMTOOL)) {
      const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' })
      expect(check.stdout + check.stderr).toBe('')
      expect(check.status).toBe(0)
    }
    expect((await fetch(`${base}/healthz`)).status).toBe(200)
    expect(await (await fetch(`${base}/readyz`)).json()).toEqual({ status: 'ready' })
    expect((await fetch(`${base}/nope`)).status).toBe(404)
    expect((await fetch(`${base}/metrics`, { method: 'POST' })).status).toBe(405)
    // It stops with the server.
    expect(await server.stop()).toBe(0)
    await expect(fetch(`${base}/healthz`)).rejects.toThrow()
  })

  it('an address that cannot be bound, or a malformed one, is a clear error before listening', async () => {
    const { base } = await withHttp()
    const taken = new URL(base)
    await expect(startServer(['--http', `127.0.0.1:${taken.port}`])).rejects.toThrow(/cannot serve HTTP on 127\.0\.0\.1/)
    await expect(startServer(['--http', 'localhost'])).rejects.toThrow(/invalid --http "localhost": expected HOST:PORT/)
  })
})

describe.skipIf(skipRedis())('loghour-server --http readiness with a real Redis', () => {
  it('dashboard page loads share one weekday table read at most every 10 s (each load recomputed it)', async () => {
    const redis = await startRedis()
    try {
      const { base } = await withHttp(['--redis', redis.url, '--daily', '--flush-interval', '600000'])
      const admin = redis.client()
      expect((await fetch(`${base}/`)).status).toBe(200) // the first load reads the table
      await admin.config('RESETSTAT')
      for (let i = 0; i < 10; i++) expect((await fetch(`${base}/`)).status).toBe(200)
      const calls = Number(/cmdstat_pfcount:calls=(\d+)/.exec(await admin.info('commandstats'))?.[1] ?? 0)
      // Each load reads the 24 hours; the table's 144 counts (24 + 5 × 24) were read once, before.
      expect(calls).toBeLessThan(10 * 24 + 144)
    } finally {
      await redis.stop()
    }
  })

  it('an idle server: /metrics and /readyz follow Redis within seconds, and no metric makes up an answer', async () => {
    const redis = await startRedis()
    let stopped = false
    try {
      // A long flush interval: nothing but the store's own health check asks Redis anything.
      const { server, base } = await withHttp(['--redis', redis.url, '--flush-interval', '600000', '--redis-timeout', '500'])
      const metrics = async () => series(await (await fetch(`${base}/metrics`)).text())
      await sendTcp(server.port, Buffer.from('{"time":"2026-11-23 09:15:00","ip":"p","status_code":503}\n'))
      await eventually(async () => (await metrics()).get('loghour_peak_hour') === 9, 10_000, 'the peak hour')
      expect((await metrics()).get('loghour_store_up')).toBe(1)
      await redis.stop()
      stopped = true
      await eventually(async () => (await metrics()).get('loghour_store_up') === 0, 10_000, 'store_up 0 while idle')
      const down = await metrics()
      expect(down.has('loghour_peak_hour')).toBe(false) // absent, not 0
      expect(down.has('loghour_hour_users{hour="9"}')).toBe(false)
      expect((await fetch(`${base}/readyz`)).status).toBe(503)
      const log = await server.waitForLog(message('store unavailable'), 0)
      expect(log.msg).toMatch(/ECONNREFUSED/)
    } finally {
      if (!stopped) await redis.stop()
    }
  })

  it('503 with the reason while Redis is paused or stopped, 200 again once it answers', async () => {
    const redis = await startRedis()
    let stopped = false
    try {
      const { server, base } = await withHttp(['--redis', redis.url, '--flush-interval', '50', '--redis-timeout', '200'])
      const ready = async () => (await fetch(`${base}/readyz`)).status
      await eventually(async () => (await ready()) === 200, 10_000, 'ready')
      redis.process.kill('SIGSTOP')
      await eventually(async () => (await ready()) === 503, 10_000, 'not ready while paused')
      const body = await (await fetch(`${base}/readyz`)).json()
      expect(body).toEqual({ status: 'not ready', reason: expect.stringMatching(/^the redis store is unreachable \(/) })
      // A change to merge: its flush fails, and the store is down (an idle store asks Redis nothing).
      await sendTcp(server.port, Buffer.from('{"time":"2026-11-23 09:15:00","ip":"p","status_code":503}\n'))
      let metrics = new Map<string, number>()
      await eventually(
        async () => {
          metrics = series(await (await fetch(`${base}/metrics`)).text())
          return metrics.get('loghour_store_up') === 0
        },
        10_000,
        'the store down',
      )
      expect(metrics.get('loghour_flush_failures_total')).toBeGreaterThan(0)
      expect(metrics.has('loghour_hour_users{hour="0"}')).toBe(false) // no answer rather than a wrong one
      redis.process.kill('SIGCONT')
      await eventually(async () => (await ready()) === 200, 10_000, 'ready after resuming')
      await redis.stop()
      stopped = true
      await eventually(async () => (await ready()) === 503, 10_000, 'not ready once stopped')
    } finally {
      if (!stopped) await redis.stop()
    }
  })
})
