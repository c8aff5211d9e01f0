// Per-day sketches (--daily): every window and every weekday of the table must be exactly what a
// plain Redis says after PFADDing only that subset's elements — in memory, in Redis, through the
// library and through the command line. "Today" is either pinned with libfaketime (child
// processes) or the data is dated relative to the real today (in process), so no result depends
// on the day the tests run.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { crc32 } from 'node:zlib'
import fc from 'fast-check'
import type { Redis } from 'ioredis'
import { describe, expect, it } from 'vitest'
import { createConsumer, type LogConsumer } from '../src/index.js'
import { run } from './helpers/cli.js'
import { skipRedis, useRedis } from './helpers/redis.js'
import { cleanEnv, eventually, sendTcp, startServer } from './helpers/server.js'
import { LIBFAKETIME, missing, pinnedClock } from './helpers/tools.js'

const MS_PER_DAY = 86_400_000
const dateOf = (day: number) => new Date(day * MS_PER_DAY).toISOString().slice(0, 10)
/** ISO weekday, 1 = Monday. */
const weekdayOf = (day: number) => ((((day + 3) % 7) + 7) % 7) + 1
const hh = (h: number) => String(h).padStart(2, '0')

interface Dataset {
  lines: Buffer
  /** The counted elements (`YYYY-MM-DD HH_ip`) with their day and hour. */
  counted: { day: number; hour: number; element: string }[]
}

/** `count` lines over days `first .. first + span - 1` from a seeded generator (some 200s, weekends skipped by the rule). */
function dataset(first: number, span: number, count: number, seed: number): Dataset {
  let state = seed >>> 0
  const next = (n: number) => {
    // mulberry32: a fixed dataset for a fixed seed
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return (((t ^ (t >>> 14)) >>> 0) % n) as number
  }
  const lines: string[] = []
  const counted: Dataset['counted'] = []
  for (let i = 0; i < count; i++) {
    const day = first + next(span)
    const hour = next(10) === 0 ? next(24) : 8 + next(11)
    const ip = `10.${next(2)}.${next(20)}.${next(20)}`
    const status = next(10) === 0 ? 200 : 500 + next(5)
    lines.push(`{"time":"${dateOf(day)} ${hh(hour)}:${hh(next(60))}:07","ip":"${ip}","status_code":${status}}`)
    if (status >= 500 && weekdayOf(day) <= 5) counted.push({ day, hour, element: `${dateOf(day)} ${hh(hour)}_${ip}` })
  }
  return { lines: Buffer.from(`${lines.join('\n')}\n`), counted }
}

/** `PFCOUNT` per hour of a plain Redis key fed only the elements `keep` accepts (24 numbers). */
async function reference(client: Redis, data: Dataset, keep: (day: number) => boolean): Promise<number[]> {
  const pipeline = client.pipeline()
  const counts: number[] = [] // the index of each hour's PFCOUNT answer
  for (let hour = 0; hour < 24; hour++) {
    const key = `reference:${hour}`
    const elements = data.counted.filter((e) => e.hour === hour && keep(e.day)).map((e) => e.element)
    pipeline.del(key)
    if (elements.length > 0) pipeline.pfadd(key, ...elements)
    counts.push(pipeline.length)
    pipeline.pfcount(key)
  }
  const answers = (await pipeline.exec())!
  return counts.map((i) => Number(answers[i]![1]))
}

/** The reference Monday–Friday × 24 table of days `from..to`. */
async function referenceTable(client: Redis, data: Dataset, from: number, to: number): Promise<number[][]> {
  const table: number[][] = []
  for (let w = 1; w <= 5; w++) table.push(await reference(client, data, (d) => d >= from && d <= to && weekdayOf(d) === w))
  return table
}

const utcToday = () => Math.floor(Date.now() / MS_PER_DAY)

describe.skipIf(skipRedis())('per-day sketches through the library', () => {
  const redis = useRedis()
  // 60 days up to yesterday, relative to the real today: inside the 90 kept days whenever this runs.
  const first = utcToday() - 60
  const data = dataset(first, 60, 6000, 20261125)

  async function fed(consumer: LogConsumer): Promise<LogConsumer> {
    // Random chunk boundaries: per-day counting must not depend on how the bytes arrive.
    for (let at = 0; at < data.lines.length; ) {
      const end = Math.min(data.lines.length, at + 1 + ((at * 7919) % 40_000))
      consumer.write(data.lines.subarray(at, end))
      at = end
    }
    await consumer.flush()
    return consumer
  }

  it('every window and every weekday of the table equals PFCOUNT of a plain Redis fed only that subset, in memory and in Redis', async () => {
    const client = redis.client()
    const memory = await fed(createConsumer({ daily: true, retainDays: 90 }))
    const stored = await fed(createConsumer({ daily: true, retainDays: 90, store: { redis: redis.url }, keyPrefix: 'lib:' }))
    try {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: -3, max: 62 }), fc.integer({ min: 0, max: 30 }), async (start, length) => {
          const [from, to] = [first + start, first + start + length]
          const query = { from: dateOf(from), to: dateOf(to), by: 'weekday' as const }
          const expected = await reference(client, data, (d) => d >= from && d <= to)
          const table = await referenceTable(client, data, from, to)
          for (const consumer of [memory, stored]) {
            const answer = await consumer.stats(query)
            expect(answer.window).toEqual({ from: query.from, to: query.to })
            expect(answer.hours).toEqual(expected)
            expect(answer.weekdays).toEqual(table)
          }
        }),
        { numRuns: 20 },
      )
      // All time is unchanged by --daily: still the 24 original keys.
      expect((await stored.stats()).hours).toEqual(await reference(client, data, () => true))
      expect((await memory.stats()).hours).toEqual(await reference(client, data, () => true))
      // The weekday table alone covers the retained days, which hold every line here.
      const retained = await memory.stats({ by: 'weekday' })
      expect(retained.window).toEqual({ from: dateOf(utcToday() - 90), to: dateOf(utcToday()) })
      expect(retained.weekdays).toEqual(await referenceTable(client, data, first, first + 60))
      expect((await stored.stats({ days: 90 })).hours).toEqual(await reference(client, data, () => true))
      // A reader that may only count (no scripts' PFMERGE): the same table, one PFCOUNT per cell.
      await client.call('ACL', 'SETUSER', 'reader', 'on', '>secret', '~*', '+pfcount', '+info', '+ping', '+eval', '+evalsha', '+script')
      const reader = createConsumer({
        daily: true,
        retainDays: 90,
        store: { redis: redis.url.replace('//', '//reader:secret@') },
        keyPrefix: 'lib:',
      })
      const query = { from: dateOf(first + 5), to: dateOf(first + 50), by: 'weekday' as const }
      expect(await reader.stats(query)).toMatchObject({
        hours: (await stored.stats(query)).hours,
        weekdays: (await stored.stats(query)).weekdays,
      })
      await reader.close()
    } finally {
      await Promise.all([memory.close(), stored.close()])
    }
  })

  it('day keys sit in the hour key slot, hold the day of the team calendar, and expire at the end of day + retainDays', async () => {
    const client = redis.client()
    // A day whose next day (in Berlin) is a working day: its line is counted.
    let day = utcToday() - 3
    while (weekdayOf(day + 1) > 5) day--
    const consumer = createConsumer({
      daily: true,
      retainDays: 40,
      timezone: 'Europe/Berlin',
      store: { redis: redis.url },
      keyPrefix: 'tz:',
    })
    // 23:30 UTC is 00:30 or 01:30 the next day in Berlin: hour 0 or 1 of day + 1.
    consumer.write(`{"time":"${dateOf(day)}T23:30:00Z","ip":"a","status_code":500}\n`)
    await consumer.close()
    const [key, ...others] = (await client.keys('{tz:*')).sort()
    expect(others).toEqual([])
    expect(key).toMatch(new RegExp(`^\\{tz:[01]\\}:${dateOf(day + 1)}$`))
    // Expires at midnight Berlin after day + 1 + 40: the instant whose Berlin date turns to day + 42.
    const expiry = Number(await client.pexpiretime(key!))
    const berlinDate = (ms: number) => new Date(ms).toLocaleDateString('en-CA', { timeZone: 'Europe/Berlin' })
    expect(berlinDate(expiry)).toBe(dateOf(day + 42))
    expect(berlinDate(expiry - 1)).toBe(dateOf(day + 41))
    expect(await client.pfcount(key!)).toBe(1)
  })

  it('the snapshot keeps the days (format 3) and a format 1 file still loads', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'loghour-daily-'))
    const file = join(dir, 'days.snap')
    const client = redis.client()
    const writer = await fed(createConsumer({ daily: true, retainDays: 90, snapshot: file }))
    await writer.close()
    const reader = createConsumer({ daily: true, retainDays: 90, snapshot: file })
    const [from, to] = [first + 10, first + 40]
    const answer = await reader.stats({ from: dateOf(from), to: dateOf(to), by: 'weekday' })
    expect(answer.hours).toEqual(await reference(client, data, (d) => d >= from && d <= to))
    expect(answer.weekdays).toEqual(await referenceTable(client, data, from, to))
    await reader.close()

    // A version 1 file (the layout before per-day sketches): the hours load, no days.
    const plain = createConsumer({ snapshot: join(dir, 'plain.snap') })
    plain.write(data.lines)
    await plain.close()
    const v3 = readFileSync(join(dir, 'plain.snap'))
    const body = Buffer.from(v3.subarray(0, v3.length - 12)) // without the empty day and users sections and the checksum
    body.writeUInt32LE(1, 8)
    const sum = Buffer.alloc(4)
    sum.writeUInt32LE(crc32(body))
    writeFileSync(join(dir, 'v1.snap'), Buffer.concat([body, sum]))
    const old = createConsumer({ daily: true, snapshot: join(dir, 'v1.snap') })
    expect((await old.stats()).hours).toEqual(await reference(client, data, () => true))
    expect((await old.stats({ from: dateOf(first), to: dateOf(first + 60) })).hours.every((n) => n === 0)).toBe(true)
    await old.close()
  })

  it('Redis down, then back empty: the day keys lost nothing (kept while down, all merged again after the restart)', async () => {
    const consumer = createConsumer({ daily: true, retainDays: 90, store: { redis: redis.url }, keyPrefix: 'fault:', flushIntervalMs: 50 })
    const resets: unknown[] = []
    consumer.on('storeReset', (info) => resets.push(info))
    consumer.on('flushFailed', () => {})
    const half = data.lines.indexOf(0x0a, data.lines.length >> 1) + 1
    consumer.write(data.lines.subarray(0, half))
    await consumer.flush()
    // Killed and restarted without persistence: what it held is gone; the rest arrives meanwhile.
    const restarted = redis.restart(500)
    consumer.write(data.lines.subarray(half))
    await restarted
    await eventually(
      async () => {
        try {
          await consumer.flush()
          return resets.length > 0
        } catch {
          return false
        }
      },
      20_000,
      'the store reset and merged again',
    )
    const client = redis.client()
    const [from, to] = [first, first + 60]
    const answer = await consumer.stats({ from: dateOf(from), to: dateOf(to), by: 'weekday' })
    expect(answer.hours).toEqual(await reference(client, data, () => true))
    expect(answer.weekdays).toEqual(await referenceTable(client, data, from, to))
    await consumer.close()
  })

  it('refuses windows it cannot answer, naming the option', async () => {
    const plain = createConsumer()
    await expect(plain.stats({ days: 7 })).rejects.toThrow('date windows need daily sketches: createConsumer({ daily: true })')
    const daily = createConsumer({ daily: true })
    const cases: [unknown, RegExp][] = [
      [{ from: '2026-02-30' }, /invalid "from": expected a date YYYY-MM-DD, got "2026-02-30"/],
      [{ from: '2026-11-20', to: '2026-11-01' }, /"from" \(2026-11-20\) is after "to" \(2026-11-01\)/],
      [{ days: 7, from: '2026-11-01' }, /give it, or from\/to, not both/],
      [{ days: 0 }, /invalid "days": expected an integer from 1 to 3661, got 0/],
      [{ by: 'month' }, /invalid "by": expected "weekday", got "month"/],
      [{ from: '2000-01-01', to: '2026-01-01' }, /a window spans at most 3661 days/],
      [{ form: '2026-11-01' }, /unknown stats\(\) option "form"/],
    ]
    for (const [query, error] of cases) await expect(daily.stats(query as never)).rejects.toThrow(error)
    await Promise.all([plain.close(), daily.close()])
  })

  it('memory stays bounded whatever dates clients send: days outside the kept ones count all time only', async () => {
    const consumer = createConsumer({ daily: true, retainDays: 5 })
    const lines: string[] = []
    // Ten thousand distinct dates from the year 0001 on, and one kept day.
    for (let i = 0; i < 10_000; i++) lines.push(`{"time":"${dateOf(-719_162 + i * 73)} 10:00:00","ip":"x${i}","status_code":500}`)
    lines.push(`{"time":"${dateOf(utcToday() - 1)} 10:00:00","ip":"kept","status_code":500}`)
    consumer.write(`${lines.join('\n')}\n`)
    const stats = await consumer.stats()
    const weekdayLines = lines.filter((l) => weekdayOf(Math.floor(Date.parse(`${l.slice(9, 19)}T00:00:00Z`) / MS_PER_DAY)) <= 5)
    expect(stats.lines.counted).toBe(weekdayLines.length)
    expect(stats.daily!.days).toBeLessThanOrEqual(1)
    expect(stats.daily!.outside).toBe(stats.lines.counted - stats.daily!.days)
    expect(stats.daily!.bytes).toBeLessThanOrEqual(32)
    await consumer.close()
  })
})

describe.skipIf(skipRedis() || missing('libfaketime (apt-get install faketime)', LIBFAKETIME !== undefined))(
  'per-day keys through loghour-server, stats and analyze, with the clock pinned',
  () => {
    // "Now" is today 10:00 UTC in every loghour process below: fixed while the test runs, however
    // long it takes. Redis keeps its own clock (libfaketime and its jemalloc clash) and expires
    // the day keys by it, so the pinned day is the real one and the windows start a day inside
    // the retention.
    const today = utcToday()
    const pinned = { TZ: 'UTC', ...pinnedClock(`${dateOf(today)} 10:00:00`) }
    const redis = useRedis()
    const data = dataset(today - 45, 47, 5000, 7) // 45 days back to tomorrow
    const stats = (args: string[]) =>
      run('loghour.js', ['stats', '--redis', redis.url, '--json', ...args], undefined, { env: cleanEnv(pinned) })

    it('the server keeps the retained days only; stats and analyze answer every window alike and equal a plain Redis', async () => {
      const server = await startServer(
        ['--redis', redis.url, '--daily', '--retain-days', '30', '--flush-interval', '50', '--log-level', 'debug'],
        pinned,
      )
      await sendTcp(server.port, data.lines, [1, 4096, 65536])
      expect(await server.stop()).toBe(0) // the final flush merged everything

      // Days before today − 30 were never written: their keys do not exist; the kept ones expire.
      const client = redis.client()
      const dayKeys = await client.keys('{error_hour_*}:*')
      const days = [...new Set(dayKeys.map((k) => k.split(':').at(-1)!))].sort()
      expect(days[0]! >= dateOf(today - 30)).toBe(true)
      expect(days.at(-1)! <= dateOf(today + 1)).toBe(true)
      const oldest = dayKeys.find((k) => k.endsWith(days[0]!))!
      expect(Number(await client.pexpiretime(oldest))).toBe(Date.parse(`${days[0]}T00:00:00Z`) + 31 * MS_PER_DAY)

      const file = join(mkdtempSync(join(tmpdir(), 'loghour-daily-')), 'access.log')
      writeFileSync(file, data.lines)
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: -29, max: 0 }), fc.integer({ min: 0, max: 31 }), async (start, length) => {
          const [from, to] = [today + start, Math.min(today + 1, today + start + length)]
          const window = ['--from', dateOf(from), '--to', dateOf(to), '--by', 'weekday']
          const fromRedis = await stats(window)
          expect(fromRedis.stderr).toBe('')
          const answer = JSON.parse(fromRedis.stdout.toString())
          expect(answer.hours).toEqual(await reference(client, data, (d) => d >= from && d <= to))
          expect(answer.weekdays).toEqual(await referenceTable(client, data, from, to))
          const analyzed = JSON.parse((await run('loghour.js', ['analyze', file, '--json', ...window])).stdout.toString())
          expect({ hours: analyzed.hours, weekdays: analyzed.weekdays, window: analyzed.window }).toEqual({
            hours: answer.hours,
            weekdays: answer.weekdays,
            window: answer.window,
          })
        }),
        { numRuns: 6 },
      )

      // --days counts back from the pinned today; --by weekday alone covers the retained days.
      const lastWeek = JSON.parse((await stats(['--days', '7'])).stdout.toString())
      expect(lastWeek.window).toEqual({ from: dateOf(today - 6), to: dateOf(today) })
      expect(lastWeek.hours).toEqual(await reference(client, data, (d) => d >= today - 6 && d <= today))
      const table = JSON.parse((await stats(['--by', 'weekday', '--retain-days', '29'])).stdout.toString())
      expect(table.window).toEqual({ from: dateOf(today - 29), to: dateOf(today) })
      expect(table.weekdays).toEqual(await referenceTable(client, data, today - 29, today))
    })

    it('draws the weekday table as a terminal heatmap and refuses bad windows with exit 2', async () => {
      const file = join(mkdtempSync(join(tmpdir(), 'loghour-daily-')), 'access.log')
      const monday = Math.floor(Date.parse('2026-11-23T00:00:00Z') / MS_PER_DAY)
      writeFileSync(
        file,
        [
          `{"time":"${dateOf(monday)} 09:00:00","ip":"a","status_code":500}`,
          `{"time":"${dateOf(monday)} 09:10:00","ip":"b","status_code":500}`,
          `{"time":"${dateOf(monday)} 09:20:00","ip":"c","status_code":500}`,
          `{"time":"${dateOf(monday)} 09:30:00","ip":"d","status_code":500}`,
          `{"time":"${dateOf(monday + 2)} 14:00:00","ip":"a","status_code":503}`,
        ].join('\n'),
      )
      const shown = await run('loghour.js', ['analyze', file, '--by', 'weekday'])
      expect(shown.code).toBe(0)
      const text = shown.stdout.toString()
      expect(text).toContain(`Days ${dateOf(monday)} to ${dateOf(monday + 2)} (inclusive)`)
      const rows = text.split('\n').filter((l) => /^(Mon|Tue|Wed|Thu|Fri) {2}/.test(l))
      expect(rows).toHaveLength(5)
      // Two columns per hour after "Mon  ": Monday 09:00 is the maximum (█), Wednesday 14:00 a quarter (░).
      expect(rows[0]!.slice(5 + 18, 5 + 20)).toBe('██')
      expect(rows[0]).toMatch(/peak 09:00 4$/)
      expect(rows[2]!.slice(5 + 28, 5 + 30)).toBe('░░')
      expect(rows[1]).toMatch(/none$/)
      for (const [args, error] of [
        [['--days', '0'], /--days <n>' argument '0' is invalid. expected an integer from 1 to 3661/],
        [['--from', '2026-13-01'], /expected a date YYYY-MM-DD/],
        [['--days', '3', '--to', '2026-11-01'], /cannot be used with option '--to/],
        [['--from', '2026-11-20', '--to', '2026-11-01'], /"from" \(2026-11-20\) is after "to" \(2026-11-01\)/],
        [['--by', 'month'], /expected one of weekday/],
      ] as const) {
        const refused = await run('loghour.js', ['analyze', file, ...args])
        expect(refused.code, args.join(' ')).toBe(2)
        expect(refused.stderr).toMatch(error)
      }
      const off = await run('loghour-server.js', ['--retain-days', '3'])
      expect(off.code).toBe(2)
      expect(off.stderr).toMatch(/--retain-days applies with --daily/)
    })
  },
)
