// A real Caddy writes its JSON access log (`log { format json }`) for requests from several
// 127.0.0.x addresses. Caddy is a Go program, which libfaketime cannot pin, so its epoch `ts`
// values are moved to fixed instants afterwards (every other byte as Caddy wrote it); then
// `loghour analyze --schema caddy`, with and without --timezone, equals PFCOUNT after PFADD of
// independently computed elements in a real Redis.
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { run } from './helpers/cli.js'
import { CURL, curl, STATUSES } from './helpers/nginx.js'
import { freePort, skipRedis, useRedis } from './helpers/redis.js'
import { zonedReferenceCounts } from './helpers/reference.js'
import { missing } from './helpers/tools.js'

const CADDY = ['/usr/bin/caddy', '/usr/local/bin/caddy'].find((p) => existsSync(p))
const CLIENTS = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5']
/** Where the requests are moved to: Monday 14:15 UTC, and Friday 23:30 UTC (Saturday in Berlin). */
const PINNED = [Date.UTC(2026, 10, 23, 14, 15), Date.UTC(2026, 10, 27, 23, 30)]

describe.skipIf(skipRedis() || missing('caddy (apt-get install caddy)', CADDY !== undefined) || missing('curl', CURL))(
  'real Caddy logs',
  () => {
    const redis = useRedis()
    const dir = mkdtempSync(join(tmpdir(), 'loghour-caddy-'))
    const raw = join(dir, 'access.log')
    const pinned = join(dir, 'pinned.log')
    const requests: { utcMs: number; ip: string; status: number }[] = []

    beforeAll(async () => {
      const port = await freePort()
      const routes = STATUSES.map((s) => `respond /s/${s} ${s}`).join('\n  ')
      writeFileSync(
        join(dir, 'Caddyfile'),
        `{\n  admin off\n  auto_https off\n}\nhttp://127.0.0.1:${port} {\n  log {\n    output file ${raw}\n    format json\n  }\n  ${routes}\n}\n`,
      )
      const caddy: ChildProcess = spawn(CADDY!, ['run', '--config', join(dir, 'Caddyfile'), '--adapter', 'caddyfile'], {
        env: { PATH: process.env.PATH, HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir },
        stdio: 'ignore',
      })
      const exited = new Promise((resolve) => caddy.once('exit', resolve))
      try {
        for (let attempt = 0; curl(port, '127.0.0.1', 200) !== 200; attempt++) {
          if (attempt > 200 || caddy.exitCode !== null) throw new Error('caddy did not answer')
          await new Promise((r) => setTimeout(r, 25))
        }
        for (const [i, ip] of CLIENTS.entries()) {
          for (const status of STATUSES.filter((_, k) => (k + i) % 2 === 0)) {
            expect(curl(port, ip, status)).toBe(status)
            requests.push({ utcMs: 0, ip, status })
          }
        }
      } finally {
        caddy.kill('SIGTERM')
        await exited
      }
      // Move each request's `ts` (the readiness probe's too) to a pinned instant, keeping its fraction.
      const lines = readFileSync(raw, 'utf8').trim().split('\n')
      expect(lines).toHaveLength(requests.length + 1)
      const moved = lines.map((line, k) => {
        const at = PINNED[k % 2]! / 1000 + k
        if (k > 0) requests[k - 1]!.utcMs = at * 1000
        return line.replace(/"ts":(\d+)(\.\d+)?/, (_, __, fraction = '') => `"ts":${at}${fraction}`)
      })
      writeFileSync(pinned, `${moved.join('\n')}\n`)
    }, 30_000)
    afterAll(() => rmSync(dir, { recursive: true, force: true }))

    const reference = (prefix: string, zone: string) => zonedReferenceCounts(redis, prefix, requests, zone)

    it('Caddy wrote its own record shape: ts in epoch seconds, request.remote_ip, status', async () => {
      const first = JSON.parse(readFileSync(raw, 'utf8').split('\n')[1]!)
      expect(first).toMatchObject({ logger: 'http.log.access.log0', request: { remote_ip: '127.0.0.2' }, status: 200 })
      expect(typeof first.ts).toBe('number')
      // As written (whatever day this runs): every line read, none invalid.
      const result = await run('loghour.js', ['analyze', '--json', '--schema', 'caddy', raw])
      expect(JSON.parse(result.stdout.toString()).lines).toMatchObject({ total: requests.length + 1, invalid: 0 })
    })

    it.each([
      ['UTC', [], 'UTC', ['--schema', 'caddy']],
      ['Europe/Berlin', ['--timezone', 'Europe/Berlin'], 'Europe/Berlin', ['--schema', 'caddy']],
      ['UTC, no reading flag', [], 'UTC', []],
      ['Europe/Berlin, no reading flag', ['--timezone', 'Europe/Berlin'], 'Europe/Berlin', []],
    ])('analyze, hours in %s', async (_, flags, zone, schema) => {
      const result = await run('loghour.js', ['analyze', '--json', ...schema, ...flags, pinned])
      expect(result.stderr).toBe('')
      const stats = JSON.parse(result.stdout.toString())
      expect(stats.reading).toMatchObject({ name: 'caddy', detected: true }) // with --schema, only the framing is detected
      expect(stats.lines).toMatchObject({ total: requests.length + 1, invalid: 0 })
      const want = await reference(`caddy-${zone}-${schema.length}-`, zone)
      expect(want.some((n) => n > 0)).toBe(true)
      expect(stats.hours).toEqual(want)
    })
  },
)
