// A real nginx writes its default Combined log and the JSON log_format of docs/your-logs.md at pinned
// instants in New York (weekday and weekend, both sides of the US DST change), answering requests
// from several 127.0.0.x addresses; `loghour analyze` on those files, with and without
// --timezone, equals PFCOUNT after PFADD of independently computed elements in a real Redis.
import { appendFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ROOT, run } from './helpers/cli.js'
import { CURL, curl, LIBFAKETIME, NGINX, nginxDir, STATUSES, startNginx } from './helpers/nginx.js'
import { skipRedis, useRedis } from './helpers/redis.js'
import { referenceCounts, wallHour } from './helpers/reference.js'
import { missing } from './helpers/tools.js'

/** New York wall clocks nginx runs at, with New York's offset then (a fact of the calendar). */
const INSTANTS = [
  { local: '2026-11-23 09:15:00', offset: -5 }, // Monday
  { local: '2026-11-27 19:30:00', offset: -5 }, // Friday evening: Saturday in Berlin
  { local: '2026-11-22 21:30:00', offset: -5 }, // Sunday evening: Monday in Berlin
  { local: '2026-03-09 08:10:00', offset: -4 }, // Monday after the US change; Berlin not yet changed
]
const CLIENTS = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6']

interface Request {
  utcMs: number
  local: string
  ip: string
  status: number
}

describe.skipIf(
  skipRedis() ||
    missing('nginx (apt-get install nginx-light)', NGINX !== undefined) ||
    missing('libfaketime (apt-get install faketime)', LIBFAKETIME !== undefined) ||
    missing('curl', CURL),
)('real nginx logs, pinned in New York', () => {
  const redis = useRedis()
  const dirs: string[] = []
  const requests: Request[] = []
  let combined = ''
  let json = ''

  beforeAll(async () => {
    const out = nginxDir()
    dirs.push(out)
    combined = join(out, 'combined.log')
    json = join(out, 'json.log')
    for (const { local, offset } of INSTANTS) {
      const dir = nginxDir()
      dirs.push(dir)
      const nginx = await startNginx(dir, local, 'America/New_York')
      try {
        for (const [i, ip] of CLIENTS.entries()) {
          // Each client sees a different mix; some see no 5xx at all.
          for (const status of STATUSES.filter((_, k) => (k + i) % 3 !== 0)) {
            expect(curl(nginx.port, ip, status)).toBe(status)
            requests.push({ utcMs: Date.parse(`${local.replace(' ', 'T')}Z`) - offset * 3_600_000, local, ip, status })
          }
        }
      } finally {
        await nginx.stop()
      }
      appendFileSync(combined, readFileSync(join(dir, 'access.log')))
      appendFileSync(json, readFileSync(join(dir, 'access.json')))
    }
  }, 60_000)

  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
  })

  /** PFCOUNT per hour of the requests' elements on `zone`'s clock, or as written (New York) without one. */
  const reference = (prefix: string, zone: string | undefined) =>
    referenceCounts(
      redis,
      prefix,
      requests.map((r) => ({
        ...r,
        ...(zone ? wallHour(r.utcMs, zone) : { dateHour: r.local.slice(0, 13), weekday: wallHour(r.utcMs, 'America/New_York').weekday }),
      })),
    )

  async function analyze(args: string[]) {
    const result = await run('loghour.js', ['analyze', '--json', ...args])
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    return JSON.parse(result.stdout.toString()) as { hours: number[]; lines: { total: number; invalid: number }; reading: unknown }
  }

  it('nginx wrote what the test sent (and the readiness probe of each run)', () => {
    const lines = readFileSync(combined, 'utf8').trim().split('\n')
    expect(lines).toHaveLength(requests.length + INSTANTS.length)
    expect(lines[1]).toMatch(/^127\.0\.0\.2 - - \[23\/Nov\/2026:09:15:0\d -0500\] "GET \/s\/404 HTTP\/1\.1" 404 \d+ "-" "curl\//)
    expect(readFileSync(json, 'utf8').split('\n')[1]).toMatch(
      /^\{"time":"2026-11-23T09:15:0\d-05:00","ip":"127\.0\.0\.2","status_code":404\}$/,
    )
  })

  /** The real Combined lines as shippers forward them: Vector's envelope, Fluent Bit's json_lines, Filebeat's ECS event. */
  function shipped(): { vector: string; fluentBit: string; ecs: string } {
    const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']
    const out = { vector: '', fluentBit: '', ecs: '' }
    for (const line of readFileSync(combined, 'utf8').trim().split('\n')) {
      const m =
        /^(\S+) \S+ \S+ \[(\d\d)\/(\w{3})\/(\d{4}):(\d\d:\d\d:\d\d) ([+-]\d\d)(\d\d)\] "(\S+) (\S+)[^"]*" (\d{3}) (\d+) "([^"]*)" "([^"]*)"$/.exec(
          line,
        )!
      const [, ip, day, month, year, clock, offH, offM, method, path, status, size, referer, agent] = m
      const ms = Date.parse(`${year}-${String(months.indexOf(month!) + 1).padStart(2, '0')}-${day}T${clock}${offH}:${offM}`)
      // Vector's file source → socket sink, codec json: keys in alphabetical order, the line in `message`.
      out.vector += `${JSON.stringify({ file: '/var/log/nginx/access.log', host: 'web1', message: line, source_type: 'file', timestamp: '2026-11-23T14:15:00.123456789Z' })}\n`
      // Fluent Bit's stock nginx parser, tcp output format json_lines: `date` first (a double), every field a string.
      const fields = { remote: ip, host: '-', user: '-', method, path, code: status, size, referer, agent }
      out.fluentBit += `{"date":${(ms / 1000).toFixed(6)},${JSON.stringify(fields).slice(1)}\n`
      // Filebeat's nginx module (ECS): the UTC instant, source.ip, http.response.status_code.
      const ecs = {
        '@timestamp': new Date(ms).toISOString(),
        event: { dataset: 'nginx.access' },
        source: { ip },
        http: { response: { status_code: Number(status) } },
      }
      out.ecs += `${JSON.stringify(ecs)}\n`
    }
    return out
  }

  it('the same requests through Vector, Fluent Bit and Filebeat (ECS): no flags, the reference counts in Berlin', async () => {
    const forms = shipped()
    const want = await reference('nginx-shipped-berlin-', 'Europe/Berlin')
    for (const [name, data, reading] of [
      ['vector', forms.vector, { name: 'combined', envelope: 'message' }],
      ['fluent-bit', forms.fluentBit, { name: 'json', fields: { time: 'date', ip: 'remote', status: 'code' } }],
      ['ecs', forms.ecs, { name: 'ecs' }],
    ] as const) {
      const file = join(dirs[0]!, `${name}.log`)
      writeFileSync(file, data)
      const berlin = await analyze(['--timezone', 'Europe/Berlin', file])
      expect(berlin.lines, name).toMatchObject({ total: requests.length + INSTANTS.length, invalid: 0 })
      expect(berlin.reading, name).toMatchObject(reading)
      expect(berlin.hours, name).toEqual(want)
    }
    // The envelope keeps nginx's wall clock: as written, New York hours.
    const file = join(dirs[0]!, 'vector.log')
    expect((await analyze([file])).hours).toEqual(await reference('nginx-shipped-ny-', undefined))
  })

  it("the README's first run: analyze with no flags says it read nginx's default log as Combined lines", async () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
    const example = /## Your own log, no flags[\s\S]*?```\n\n```\n(.*)\n/.exec(readme)![1]!
    const result = await run('loghour.js', ['analyze', combined])
    expect(result.code).toBe(0)
    expect(result.stdout.toString().split('\n')[0]).toBe(example)
  })

  it.each([
    ['the Combined log', ['--format', 'clf'], () => combined, 'clf'],
    ['the Combined log, no flags', [], () => combined, 'combined'],
    ['the JSON log_format, no flags', [], () => json, 'original'],
  ])('%s: hours as written (New York), then on Berlin time', async (_, flags, file, reading) => {
    const asWritten = await analyze([...flags, file()])
    expect(asWritten.lines).toMatchObject({ total: requests.length + INSTANTS.length, invalid: 0 })
    expect(asWritten.reading).toMatchObject({ name: reading, detected: flags.length === 0 })
    expect(asWritten.hours).toEqual(await reference(`nginx-ny-${reading}-`, undefined))
    const berlin = await analyze([...flags, '--timezone', 'Europe/Berlin', file()])
    const want = await reference(`nginx-berlin-${reading}-`, 'Europe/Berlin')
    expect(berlin.hours).toEqual(want)
    // The zone matters here: Friday evening drops out, Sunday evening comes in, hours move.
    expect(berlin.hours).not.toEqual(asWritten.hours)
  })
})
