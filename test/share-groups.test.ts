// Every user per hour (--all-users), the share hurt, and the 5xx users by group (--group-by): a
// real nginx (pinned in New York) logs requests to several routes from several clients, in its
// Combined log and a JSON log with host, method and path; `loghour analyze`, the library into a
// real Redis, a server with --daily and `loghour stats` must all report, in New York's and in
// Berlin's hours, what PFCOUNT gives after PFADD of independently computed elements.
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { createConsumer } from '../src/index.js'
import type { Stats } from '../src/stats.js'
import { ROOT, run } from './helpers/cli.js'
import { CURL, curl, LIBFAKETIME, NGINX, nginxDir, startNginx } from './helpers/nginx.js'
import { skipRedis, useRedis } from './helpers/redis.js'
import { wallHour } from './helpers/reference.js'
import { eventually, message, startServer } from './helpers/server.js'
import { missing, pinnedClock } from './helpers/tools.js'

/** New York wall clocks nginx runs at, with New York's offset then. */
const INSTANTS = [
  { local: '2026-11-23 09:15:00', offset: -5 }, // Monday
  { local: '2026-11-22 21:30:00', offset: -5 }, // Sunday evening: Monday 03:30 in Berlin
  { local: '2026-11-27 16:40:00', offset: -5 }, // Friday afternoon: Friday 22:40 in Berlin
]
const CLIENTS = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6', '127.0.0.7']

/**
 * Who is hurt at each instant, so that the busiest hour and the worst share differ: on Monday 4 of
 * 6 clients meet a 500 (the most users hurt); on Sunday evening (Monday 03:00 in Berlin) 3 of 3 do
 * (the largest share); on Friday 2 of 6.
 */
const SHAPES = [
  { clients: 6, status: (i: number, t: number) => (i < 4 && t === 0 ? 500 : t === 3 ? 404 : 200) },
  { clients: 3, status: (i: number, t: number) => (t === i % 4 ? [502, 503, 500][i]! : 200) },
  { clients: 6, status: (i: number, t: number) => (i % 3 === 0 && (t === 1 || t === 3) ? 503 : 200) },
]

/** Request targets and the route each groups under (computed here, not by loghour's rule). */
const TARGETS = [
  { path: (k: number) => `/users/${40 + k}`, route: '/users/:id', method: 'GET' },
  { path: (k: number) => `/orders/6f1c2a9e-3b7d-4c1e-9a2b-0c4d5e6f7a${String(k).padStart(2, '0')}`, route: '/orders/:id', method: 'POST' },
  { path: () => '/health', route: '/health', method: 'GET' },
  { path: (k: number) => `/search?q=${k}`, route: '/search', method: 'GET' },
]

interface Request {
  utcMs: number
  local: string
  ip: string
  status: number
  route: string
  method: string
}

/** The independent answer: per hour the users hurt and every user, and per route its hours and union. */
interface Reference {
  hours: number[]
  users: number[]
  groups: { value: string; hours: number[]; users: number }[]
}

describe.skipIf(
  skipRedis() ||
    missing('nginx (apt-get install nginx-light)', NGINX !== undefined) ||
    missing('libfaketime (apt-get install faketime)', LIBFAKETIME !== undefined) ||
    missing('curl', CURL),
)('every user, the share hurt and groups, from real nginx logs', () => {
  const redis = useRedis()
  const dirs: string[] = []
  const requests: Request[] = []
  let combined = ''
  let fields = ''

  beforeAll(async () => {
    const out = nginxDir()
    dirs.push(out)
    combined = join(out, 'combined.log')
    fields = join(out, 'fields.json')
    let combinedText = ''
    let fieldsText = ''
    for (const [n, { local, offset }] of INSTANTS.entries()) {
      const dir = nginxDir()
      dirs.push(dir)
      const nginx = await startNginx(dir, local, 'America/New_York')
      try {
        for (const [i, ip] of CLIENTS.slice(0, SHAPES[n]!.clients).entries()) {
          for (const [t, target] of TARGETS.entries()) {
            const status = SHAPES[n]!.status(i, t)
            expect(curl(nginx.port, ip, status, target.path(i), target.method)).toBe(status)
            const utcMs = Date.parse(`${local.replace(' ', 'T')}Z`) - offset * 3_600_000
            requests.push({ utcMs, local, ip, status, route: target.route, method: target.method })
          }
        }
      } finally {
        await nginx.stop()
      }
      // Without the readiness probe's line (a GET /s/200 from 127.0.0.1 before the test's requests).
      combinedText += readFileSync(join(dir, 'access.log'), 'utf8').split('\n').slice(1).join('\n')
      fieldsText += readFileSync(join(dir, 'access.fields.json'), 'utf8').split('\n').slice(1).join('\n')
    }
    writeFileSync(combined, combinedText)
    writeFileSync(fields, fieldsText)
  }, 60_000)

  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
  })

  let prefixes = 0
  /**
   * PFADD of the requests' elements (`YYYY-MM-DD HH_<ip>`, the hour on `zone`'s clock or as written)
   * into a real Redis: 5xx users and every user per hour, and per group (`groupOf`) its hours;
   * PFCOUNT of each, and of each group's keys together (its union).
   */
  async function reference(
    zone: string | undefined,
    groupOf: (r: Request) => string = (r) => r.route,
    keep: (r: Request) => boolean = () => true,
  ): Promise<Reference> {
    const client = redis.client()
    const prefix = `ref${prefixes++}:`
    const groupKeys = new Map<string, Set<string>>()
    for (const r of requests.filter(keep)) {
      const placed = zone
        ? wallHour(r.utcMs, zone)
        : { dateHour: r.local.slice(0, 13), weekday: wallHour(r.utcMs, 'America/New_York').weekday }
      if (placed.weekday > 5) continue
      const hour = Number(placed.dateHour.slice(11))
      const element = `${placed.dateHour}_${r.ip}`
      await client.pfadd(`${prefix}users:${hour}`, element)
      if (r.status < 500) continue
      await client.pfadd(`${prefix}hurt:${hour}`, element)
      const value = groupOf(r)
      const key = `${prefix}group:${value}:${hour}`
      await client.pfadd(key, element)
      groupKeys.set(value, (groupKeys.get(value) ?? new Set()).add(key))
    }
    const counts = (name: string) => Promise.all(Array.from({ length: 24 }, (_, h) => client.pfcount(`${prefix}${name}:${h}`)))
    const groups = await Promise.all(
      [...groupKeys].map(async ([value, keys]) => ({
        value,
        hours: await Promise.all(Array.from({ length: 24 }, (_, h) => client.pfcount(`${prefix}group:${value}:${h}`))),
        users: await client.pfcount(...keys),
      })),
    )
    groups.sort((a, b) => b.users - a.users || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0))
    const answer = { hours: await counts('hurt'), users: await counts('users'), groups }
    await client.quit()
    return answer
  }

  /** The answer's hours, users, share (the ratio) and groups are the reference's. */
  function expectAnswer(answer: Stats, want: Reference): void {
    expect(answer.hours).toEqual(want.hours)
    expect(answer.users).toEqual(want.users)
    expect(answer.share).toEqual(want.users.map((n, h) => (n === 0 ? null : want.hours[h]! / n)))
    expect(answer.groups).toEqual(want.groups)
  }

  async function analyze(args: string[]): Promise<Stats> {
    const result = await run('loghour.js', ['analyze', '--json', '--all-users', ...args])
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    return JSON.parse(result.stdout.toString()) as Stats
  }

  it('nginx logged every request, each with its route', () => {
    const lines = readFileSync(combined, 'utf8').trim().split('\n')
    expect(lines).toHaveLength(requests.length)
    expect(lines[0]).toMatch(/^127\.0\.0\.2 - - \[23\/Nov\/2026:09:15:0\d -0500\] "GET \/users\/40\?s=\d{3} HTTP\/1\.1" \d{3} /)
    expect(readFileSync(fields, 'utf8').split('\n')[1]).toMatch(
      /"host":"127\.0\.0\.1","method":"POST","path":"\/orders\/6f1c2a9e-[^"]+\?s=\d{3}"\}$/,
    )
    // The data has what the test needs: hours where some users are hurt and some not.
    expect(requests.some((r) => r.status >= 500)).toBe(true)
    expect(requests.some((r) => r.status < 500)).toBe(true)
  })

  it.each([
    ['New York (as written)', []],
    ['Berlin', ['--timezone', 'Europe/Berlin']],
  ])('analyze, Combined log grouped by path, %s', async (_, zoneFlags) => {
    const zone = zoneFlags[1]
    const answer = await analyze(['--group-by', 'path', ...zoneFlags, combined])
    const want = await reference(zone)
    expectAnswer(answer, want)
    expect(answer).toMatchObject({ groupBy: 'path', otherRecords: 0, minUsers: 100, shareHour: null, shareError: 0.0115 })
    expect(answer.groupValues).toBe(want.groups.length)
  })

  it.each([
    ['New York (as written)', []],
    ['Berlin', ['--timezone', 'Europe/Berlin']],
  ])('analyze, JSON log grouped by its path field (a route) and by method, %s', async (_, zoneFlags) => {
    const zone = zoneFlags[1]
    expectAnswer(await analyze(['--group-by', 'path', ...zoneFlags, fields]), await reference(zone))
    expectAnswer(await analyze(['--group-by', 'method', ...zoneFlags, fields]), await reference(zone, (r) => r.method))
    expectAnswer(await analyze(['--group-by', 'method', ...zoneFlags, combined]), await reference(zone, (r) => r.method))
  })

  it('the hour of the largest share is ranked among hours with at least --min-users users', async () => {
    const answer = await analyze(['--group-by', 'host', '--min-users', '3', '--timezone', 'Europe/Berlin', fields])
    const want = await reference('Europe/Berlin', () => '127.0.0.1')
    expectAnswer(answer, want)
    const eligible = want.users.map((n, h) => (n >= 3 ? want.hours[h]! / n : -1))
    const hour = eligible.indexOf(Math.max(...eligible))
    expect(answer.shareHour).toEqual({
      hour,
      share: want.hours[hour]! / want.users[hour]!,
      hurt: want.hours[hour],
      users: want.users[hour],
    })
    // The two rankings differ on this data: most users hurt at 15:00, the largest share at 03:00.
    expect([answer.peakHour, hour]).toEqual([15, 3])
  })

  it('past --max-groups, values go to (other), whose hours are those of the routes not kept', async () => {
    const answer = await analyze(['--group-by', 'path', '--max-groups', '1', combined])
    const counted = requests.filter((r) => r.status >= 500 && wallHour(r.utcMs, 'America/New_York').weekday <= 5)
    const kept = counted[0]!.route
    expectAnswer(answer, await reference(undefined, (r) => (r.route === kept ? kept : '(other)')))
    expect(answer.otherRecords).toBe(counted.filter((r) => r.route !== kept).length)
    expect(answer.groupValues).toBe(2)
  })

  it('the library into Redis: both key sets and the group keys hold what PFADD gives', async () => {
    const consumer = createConsumer({
      store: { redis: redis.url },
      keyPrefix: 'lib-hurt-',
      usersKeyPrefix: 'lib-users-',
      allUsers: true,
      groupBy: 'path',
      timezone: 'Europe/Berlin',
    })
    consumer.write(readFileSync(combined))
    const want = await reference('Europe/Berlin')
    expectAnswer(await consumer.stats(), want)
    await consumer.close()
    const client = redis.client()
    const count = (key: string) => client.pfcount(key)
    expect(await Promise.all(Array.from({ length: 24 }, (_, h) => count(`lib-hurt-${h}`)))).toEqual(want.hours)
    expect(await Promise.all(Array.from({ length: 24 }, (_, h) => count(`lib-users-${h}`)))).toEqual(want.users)
    for (const group of want.groups) {
      const hours = await Promise.all(Array.from({ length: 24 }, (_, h) => count(`{lib-hurt-${h}}:group:${group.value}`)))
      expect(hours, group.value).toEqual(group.hours)
    }
    const listed = new Set((await Promise.all(Array.from({ length: 24 }, (_, h) => client.smembers(`{lib-hurt-${h}}:groups`)))).flat())
    expect([...listed].sort()).toEqual(want.groups.map((g) => g.value).sort())
    await client.quit()
  })

  it('a server with --daily into Redis, read back by loghour stats: all time, and one day with the weekday table', async () => {
    const server = await startServer(
      [
        '--redis',
        redis.url,
        '--key-prefix',
        'srv-hurt-',
        '--all-users',
        '--users-key-prefix',
        'srv-users-',
        '--group-by',
        'path',
        '--daily',
        '--timezone',
        'Europe/Berlin',
        '--top',
        '3',
        '--http',
        '127.0.0.1:0',
      ],
      // "Today" in the retention window of the logged days, whatever day the test runs.
      { ...pinnedClock('2026-11-28 12:00:00'), TZ: 'UTC' },
    )
    const http = `http://127.0.0.1:${((await server.waitForLog(message('HTTP endpoints'), 0)).http as { port: number }).port}`
    const sent = await run('loghour.js', ['send', '--port', String(server.port), combined])
    expect(sent.code).toBe(0)
    const all = await reference('Europe/Berlin')
    // /stats and /metrics of the running server: every user, the share, the top 3 groups only.
    let live: Stats | undefined
    await eventually(async () => {
      live = (await (await fetch(`${http}/stats`)).json()) as Stats
      return live.lines.total === requests.length
    })
    expectAnswer(live!, { ...all, groups: all.groups.slice(0, 3) })
    const text = await (await fetch(`${http}/metrics`)).text()
    const metric = (name: string) => {
      const m = new RegExp(`^${name.replace(/[{}".*+?^$()|[\]\\]/g, '\\$&')} (\\S+)$`, 'm').exec(text)
      return m ? Number(m[1]) : undefined
    }
    for (let h = 0; h < 24; h++) {
      expect(metric(`loghour_hour_all_users{hour="${h}"}`), `hour ${h}`).toBe(all.users[h])
      expect(metric(`loghour_hour_share{hour="${h}"}`), `hour ${h}`).toBe(all.users[h] ? all.hours[h]! / all.users[h]! : undefined)
    }
    expect(metric('loghour_share_hour')).toBe(-1) // no hour has --min-users (100) users here
    for (const group of all.groups.slice(0, 3)) expect(metric(`loghour_group_users{group="${group.value}"}`)).toBe(group.users)
    expect(text.match(/^loghour_group_users\{/gm)).toHaveLength(Math.min(3, all.groups.length))
    expect(metric('loghour_group_values')).toBe(all.groups.length)
    expect(metric('loghour_group_other_records_total')).toBe(0)
    if (spawnSync('promtool', ['--version']).status === 0) {
      const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' })
      expect(check.stdout + check.stderr).toBe('')
    }
    expect(await server.stop()).toBe(0) // the final flush merged everything
    const stats = async (args: string[]) => {
      const flags = ['--redis', redis.url, '--key-prefix', 'srv-hurt-', '--all-users', '--users-key-prefix', 'srv-users-']
      const result = await run('loghour.js', ['stats', '--json', ...flags, '--group-by', 'path', '--timezone', 'Europe/Berlin', ...args])
      expect(result.stderr).toBe('')
      return JSON.parse(result.stdout.toString()) as Stats
    }
    expectAnswer(await stats([]), await reference('Europe/Berlin'))
    const monday = (r: Request) => wallHour(r.utcMs, 'Europe/Berlin').dateHour.startsWith('2026-11-23')
    const day = await stats(['--from', '2026-11-23', '--to', '2026-11-23', '--by', 'weekday'])
    const want = await reference('Europe/Berlin', (r) => r.route, monday)
    expect(day.hours).toEqual(want.hours)
    expect(day.users).toEqual(want.users)
    expect(day.weekdays?.[0]).toEqual(want.hours)
    expect(day.weekdayUsers?.[0]).toEqual(want.users)
    expect(
      day.weekdayUsers
        ?.slice(1)
        .flat()
        .every((n) => n === 0),
    ).toBe(true)
  })
})

describe("docs/share.md's examples", () => {
  const doc = readFileSync(join(ROOT, 'docs/share.md'), 'utf8')
  /** Runs an `sh` block's command with `loghour` on PATH (the installed command). */
  async function shell(command: string): Promise<string> {
    const bin = mkdtempSync(join(tmpdir(), 'loghour-bin-'))
    onTestFinished(() => rmSync(bin, { recursive: true, force: true }))
    writeFileSync(join(bin, 'loghour'), `#!/bin/sh\nexec "${process.execPath}" "${join(ROOT, 'dist/loghour.js')}" "$@"\n`, { mode: 0o755 })
    const child = spawn('bash', ['-e', '-o', 'pipefail', '-c', command], { env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } })
    let out = ''
    let err = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    child.stderr.on('data', (d: Buffer) => (err += d.toString()))
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
    expect(err).toBe('')
    expect(code).toBe(0)
    return out
  }

  it('"Try it" prints what the guide shows, the busiest hour and the worst share apart', async () => {
    const [, command, shown] = /## Try it[\s\S]*?```sh\n(.*)\n```\n\n```\n([\s\S]*?)```/.exec(doc)!
    const out = await shell(command!)
    expect(out).toBe(shown)
    expect(out).toMatch(/^Most users hurt: {5}14:00/m)
    expect(out).toMatch(/^Largest share hurt: {2}03:00/m)
  })

  it('"As JSON" gives the numbers the guide shows (elided parts aside)', async () => {
    const [, command, shown] = /## As JSON[\s\S]*?```sh\n(.*)\n```\n\n```json\n([\s\S]*?)```/.exec(doc)!
    const answer = JSON.parse(await shell(command!)) as Stats
    // Every number the guide writes out is the answer's, in order, where it stands.
    const text = JSON.stringify(answer)
    for (const line of shown!.split('\n').filter((l) => /\d/.test(l))) {
      for (const piece of line.split('…')) {
        const exact = piece.replace(/^[\s,]+|[\s,]+$/g, '').replace(/, *$/, '')
        if (!/\d/.test(exact)) continue
        expect(text.replace(/\s/g, '')).toContain(exact.replace(/\s/g, '').replace(/,$/, ''))
      }
    }
    expect(answer.groups).toHaveLength(2)
  })
})
