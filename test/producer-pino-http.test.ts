// A real pino-http server (pinned with libfaketime) logs requests from several 127.0.0.x
// addresses; `loghour analyze --schema pino-http` on its log, with and without --timezone,
// equals PFCOUNT after PFADD of independently computed elements in a real Redis.
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { run } from './helpers/cli.js'
import { CURL, curl, LIBFAKETIME, STATUSES } from './helpers/nginx.js'
import { skipRedis, useRedis } from './helpers/redis.js'
import { zonedReferenceCounts } from './helpers/reference.js'
import { missing, pinnedClock } from './helpers/tools.js'

/** UTC instants the app runs at: Monday morning, and Friday late evening (Saturday in Berlin). */
const INSTANTS = ['2026-11-23 06:15:00', '2026-11-27 23:30:00']
const CLIENTS = ['127.0.0.2', '127.0.0.3', '127.0.0.4']

async function runApp(file: string, now: string, requests: { utcMs: number; ip: string; status: number }[]) {
  const child = spawn(process.execPath, [join(__dirname, 'fixtures/pino-http-server.cjs'), file], {
    env: { PATH: process.env.PATH, TZ: 'UTC', ...pinnedClock(now) },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const exited = new Promise((resolve) => child.once('exit', resolve))
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString())))
      child.once('exit', () => reject(new Error('the pino-http app exited')))
    })
    for (const [i, ip] of CLIENTS.entries()) {
      for (const status of STATUSES.filter((_, k) => (k + i) % 2 === 0)) {
        expect(curl(port, ip, status)).toBe(status)
        requests.push({ utcMs: Date.parse(`${now.replace(' ', 'T')}Z`), ip, status })
      }
    }
  } finally {
    child.kill('SIGTERM')
    await exited
  }
}

describe.skipIf(skipRedis() || missing('libfaketime (apt-get install faketime)', LIBFAKETIME !== undefined) || missing('curl', CURL))(
  'real pino-http logs',
  () => {
    const redis = useRedis()
    const dir = mkdtempSync(join(tmpdir(), 'loghour-pino-'))
    const file = join(dir, 'app.log')
    const requests: { utcMs: number; ip: string; status: number }[] = []

    beforeAll(async () => {
      for (const now of INSTANTS) await runApp(file, now, requests)
    }, 30_000)
    afterAll(() => rmSync(dir, { recursive: true, force: true }))

    const reference = (prefix: string, zone: string) => zonedReferenceCounts(redis, prefix, requests, zone)

    it('pino-http wrote its own record shape: epoch milliseconds, req.remoteAddress, res.statusCode', () => {
      const first = JSON.parse(readFileSync(file, 'utf8').split('\n')[0]!)
      expect(first).toMatchObject({ req: { remoteAddress: '127.0.0.2' }, res: { statusCode: 200 } })
      const pinned = Date.parse('2026-11-23T06:15:00Z')
      expect(first.time).toBeGreaterThanOrEqual(pinned)
      expect(first.time - pinned).toBeLessThan(60_000)
    })

    it.each([
      ['UTC (epoch times without a zone)', [], 'UTC', ['--schema', 'pino-http']],
      ['Europe/Berlin', ['--timezone', 'Europe/Berlin'], 'Europe/Berlin', ['--schema', 'pino-http']],
      ['America/New_York', ['--timezone', 'America/New_York'], 'America/New_York', ['--schema', 'pino-http']],
      ['UTC, no reading flag', [], 'UTC', []],
      ['America/New_York, no reading flag', ['--timezone', 'America/New_York'], 'America/New_York', []],
    ])('analyze, hours in %s', async (_, flags, zone, schema) => {
      const result = await run('loghour.js', ['analyze', '--json', ...schema, ...flags, file])
      expect(result.stderr).toBe('')
      const stats = JSON.parse(result.stdout.toString())
      expect(stats.reading).toMatchObject({ name: 'pino-http', detected: true }) // with --schema, only the framing is detected
      expect(stats.lines).toMatchObject({ total: requests.length, invalid: 0 })
      expect(stats.hours).toEqual(await reference(`pino-${zone}-${schema.length}-`, zone))
    })
  },
)
