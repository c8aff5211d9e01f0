// The dashboard (GET / and GET /events of loghour-server --http) and `loghour analyze --html`,
// in a real headless Chromium (Debian's, driven by playwright-core): bar heights follow the
// counts, the peak is highlighted and moves live, phone width and dark mode stay readable, the
// report reaches nothing outside its file. The event stream is also read without a browser.
// Screenshots go to test-output/dashboard/.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { ROOT, run } from './helpers/cli.js'
import { kafkaAvailable, kafkaTopic, produce, useKafka } from './helpers/kafka.js'
import { skipRedis, startRedis } from './helpers/redis.js'
import { eventually, message, type ServerProcess, sendTcp, startServer } from './helpers/server.js'
import { missing } from './helpers/tools.js'

const CHROMIUM = '/usr/bin/chromium'
const OUTPUT = join(ROOT, 'test-output', 'dashboard')

/** Starts a server with the HTTP endpoints on a free port. */
async function withHttp(args: string[] = []): Promise<{ server: ServerProcess; base: string }> {
  const server = await startServer(['--http', '127.0.0.1:0', ...args])
  const record = await server.waitForLog(message('HTTP endpoints'), 0)
  return { server, base: `http://127.0.0.1:${(record.http as { port: number }).port}` }
}

/** A Monday-to-Friday 5xx record (2026-11-23 is a Monday). */
const error = (hour: number, ip: string, day = 23) =>
  JSON.stringify({ time: `2026-11-${day} ${String(hour).padStart(2, '0')}:15:00`, ip, status_code: 503 })

/** 3 users at 9h (one of them twice), 1 at 14h, 2 at 17h; a 200, a Saturday, a broken line, a blank. */
const FIRST = [
  error(9, 'u1'),
  error(9, 'u2'),
  error(9, 'u3'),
  error(9, 'u1'),
  error(14, 'u1'),
  error(17, 'u4'),
  error(17, 'u5'),
  '{"time":"2026-11-23 10:00:00","ip":"u1","status_code":200}',
  error(9, 'u9', 28),
  'not json',
  '',
]

/** New users per hour over a working day: 14h overtakes 9h (3 + 22 < 1 + 30). */
const DAY = [1, 0, 0, 0, 0, 1, 2, 6, 14, 22, 26, 24, 18, 21, 30, 27, 20, 14, 8, 5, 3, 2, 1, 1]
const SECOND = DAY.flatMap((users, hour) => Array.from({ length: users }, (_, i) => error(hour, `10.1.${hour}.${i}`)))

const payload = (lines: string[]) => Buffer.from(`${lines.join('\n')}\n`)

// The page functions below run in the browser; the project's TypeScript has no DOM library.
declare function getComputedStyle(element: unknown): { backgroundColor: string; visibility: string; opacity: string }
declare const document: { querySelector(selector: string): { textContent: string | null } | null }

interface Bar {
  hour: number
  users: number | null
  height: number
  track: number
  peak: boolean
  colour: string
  left: number
  right: number
  labelVisible: boolean
}

/** The 24 bars as the browser laid them out. */
function barsOf(page: Page): Promise<Bar[]> {
  return page.$$eval('.bar[data-hour]', (bars) =>
    bars.map((bar) => {
      const box = bar.getBoundingClientRect()
      const label = bar.parentElement!.nextElementSibling!
      return {
        hour: Number(bar.dataset.hour),
        users: bar.dataset.users === undefined ? null : Number(bar.dataset.users),
        height: box.height,
        track: bar.parentElement!.getBoundingClientRect().height,
        peak: bar.hasAttribute('data-peak'),
        colour: getComputedStyle(bar).backgroundColor,
        left: box.left,
        right: box.right,
        labelVisible: getComputedStyle(label).visibility === 'visible',
      }
    }),
  )
}

/** Heights in proportion to the users, zero for none, and only `peakHour` highlighted, in its own colour. */
function expectChart(bars: Bar[], hours: number[], peakHour: number): void {
  expect(bars.map((b) => b.hour)).toEqual([...Array(24).keys()])
  expect(bars.map((b) => b.users)).toEqual(hours)
  const max = Math.max(...hours)
  for (const bar of bars) expect(bar.height, `bar ${bar.hour}`).toBeCloseTo((bar.track * hours[bar.hour]!) / max, 0)
  expect(bars[peakHour]!.height).toBeGreaterThan(100)
  expect(bars.filter((b) => b.peak).map((b) => b.hour)).toEqual([peakHour])
  const others = new Set(bars.filter((b) => !b.peak && b.height > 0).map((b) => b.colour))
  expect(others.size).toBe(1)
  expect(others.has(bars[peakHour]!.colour)).toBe(false)
}

const peakOf = (page: Page) => page.$eval('#peak', (el) => ({ hour: el.dataset.peakHour, text: el.textContent }))

/** The body's background brightness, 0 (black) to 255. */
const brightness = (page: Page) =>
  page.$eval('body', (body) => {
    const [r, g, b] = getComputedStyle(body).backgroundColor.match(/\d+/g)!.map(Number)
    return (r! + g! + b!) / 3
  })

/** Waits until an element matching `selector` is in the page (shown or not). */
const until = (page: Page, selector: string) => page.waitForSelector(selector, { state: 'attached' })

describe.skipIf(missing('chromium (apt-get install chromium)', existsSync(CHROMIUM)))('the dashboard in Chromium', () => {
  let browser: Browser | undefined
  beforeAll(async () => {
    mkdirSync(OUTPUT, { recursive: true })
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] })
  })
  afterAll(async () => {
    await browser?.close()
  })

  /** A browser context closed when `use` ends, also when it fails. */
  async function inContext<T>(options: Parameters<Browser['newContext']>[0], use: (context: BrowserContext) => Promise<T>): Promise<T> {
    const context = await browser!.newContext(options)
    try {
      return await use(context)
    } finally {
      await context.close()
    }
  }

  it('GET / draws the hours live: heights follow the counts, the peak moves, phone width, dark mode, disconnected', async () => {
    const { server, base } = await withHttp()
    await inContext({ viewport: { width: 1100, height: 720 } }, async (context) => {
      const page = await context.newPage()
      const errors: string[] = []
      page.on('pageerror', (e) => errors.push(e.message))
      await page.goto(`${base}/`)
      await until(page, '#status[data-state="live"]')
      expect((await peakOf(page)).text).toBe('No server errors yet')
      expect((await barsOf(page)).every((b) => b.height === 0 && b.users === 0)).toBe(true)

      await sendTcp(server.port, payload(FIRST))
      await until(page, '#total:text-is("10")')
      expect(await peakOf(page)).toEqual({ hour: '9', text: 'Peak hour 09:00–09:59: 3 users hit server errors' })
      const hours = Array<number>(24).fill(0)
      Object.assign(hours, { 9: 3, 14: 1, 17: 2 })
      const bars = await barsOf(page)
      expectChart(bars, hours, 9)
      expect(bars[14]!.height / bars[9]!.height).toBeCloseTo(1 / 3, 2)
      const text = (id: string) => page.textContent(`#${id}`)
      expect([await text('counted'), await text('skipped'), await text('invalid')]).toEqual(['7', '2', '1'])
      expect(await text('reasons')).toBe('invalid: json 1')
      expect(await page.$eval('#store', (el) => ({ ...el.dataset, text: el.textContent }))).toEqual({
        kind: 'memory',
        reachable: 'true',
        text: 'reachable',
      })
      expect(await text('store-kind')).toBe('memory store')
      await page.screenshot({ path: join(OUTPUT, 'desktop-first.png') })

      // More users at 14h: the page follows without a reload.
      await sendTcp(server.port, payload(SECOND))
      await until(page, '#peak[data-peak-hour="14"]')
      await until(page, `#total:text-is("${10 + SECOND.length}")`)
      const stats = (await (await fetch(`${base}/stats`)).json()) as { hours: number[]; peakHour: number }
      expect(stats.peakHour).toBe(14)
      expectChart(await barsOf(page), stats.hours, 14)
      expect(await page.title()).toBe('loghour · peak 14:00')
      expect(await text('lines-per-second')).toMatch(/^[\d,]+$/)
      await page.locator('main').screenshot({ path: join(OUTPUT, 'desktop.png') })

      await page.emulateMedia({ colorScheme: 'dark' })
      expect(await brightness(page)).toBeLessThan(40)
      await page.screenshot({ path: join(OUTPUT, 'desktop-dark.png') })
      await page.emulateMedia({ colorScheme: 'light' })
      expect(await brightness(page)).toBeGreaterThan(215)

      await inContext({ viewport: { width: 390, height: 844 }, colorScheme: 'dark' }, async (phone) => {
        const small = await phone.newPage()
        await small.goto(`${base}/`)
        await until(small, '#peak[data-peak-hour="14"]')
        const thin = await barsOf(small)
        expectChart(thin, stats.hours, 14)
        expect(thin.every((b) => b.left >= 0 && b.right <= 390 && b.right > b.left)).toBe(true)
        expect(await small.$eval('html', (html) => html.scrollWidth)).toBeLessThanOrEqual(390)
        // Every third hour's label, and the peak's in place of its neighbours'.
        expect(thin.filter((b) => b.labelVisible).map((b) => b.hour)).toEqual([0, 3, 6, 9, 12, 14, 18, 21])
        expect(await brightness(small)).toBeLessThan(40)
        await small.screenshot({ path: join(OUTPUT, 'phone-dark.png'), fullPage: true })
        await small.emulateMedia({ colorScheme: 'light' })
        await small.screenshot({ path: join(OUTPUT, 'phone.png'), fullPage: true })
      })

      // SIGTERM completes with the page's event stream open, and the page says it is cut off.
      expect(await server.stop()).toBe(0)
      await until(page, '#status[data-state="disconnected"]')
      expect(errors).toEqual([])
    })
  })

  it('analyze --html writes the same picture as one self-contained file, with the stats JSON embedded', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'loghour-report-'))
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
    // A directory named so that the input's path contains "</script><b>": it must stay data.
    const inputDir = join(dir, '<', 'script><b>x')
    mkdirSync(inputDir, { recursive: true })
    const input = join(inputDir, 'access.log')
    writeFileSync(input, payload(FIRST))
    const file = join(dir, 'report.html')
    const [report, plain, json] = await Promise.all([
      run('loghour.js', ['analyze', '--html', file, input]),
      run('loghour.js', ['analyze', input]),
      run('loghour.js', ['analyze', '--json', input]),
    ])
    expect(report.stderr).toBe('')
    expect(report.code).toBe(0)
    expect(report.stdout.toString()).toBe(plain.stdout.toString())
    const stats = JSON.parse(json.stdout.toString())
    const html = readFileSync(file, 'utf8')
    expect(html.match(/<\/script>/g)).toHaveLength(2)
    expect(Buffer.byteLength(html)).toBeLessThan(20_480) // small: the share and group views included

    await inContext({ viewport: { width: 1100, height: 720 } }, async (context) => {
      const page = await context.newPage()
      const requests: string[] = []
      page.on('request', (r) => requests.push(r.url()))
      const url = pathToFileURL(file).href
      await page.goto(url)
      await until(page, '.bar[data-hour="23"][data-users]')
      const hours = Array<number>(24).fill(0)
      Object.assign(hours, { 9: 3, 14: 1, 17: 2 })
      expectChart(await barsOf(page), hours, 9)
      expect(await peakOf(page)).toEqual({ hour: '9', text: 'Peak hour 09:00–09:59: 3 users hit server errors' })
      expect(await page.textContent('#status')).toBe('report')
      const embedded = await page.$eval('#loghour-data', (el) => JSON.parse(el.textContent!))
      expect(embedded).toEqual({ ...stats, generatedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), sources: [input] })
      expect(await page.textContent('#updated')).toContain(`from ${input}`)
      expect(await page.$('b')).toBeNull()
      await page.screenshot({ path: join(OUTPUT, 'report.png') })
      expect(requests).toEqual([url])
    })

    // Without JavaScript, the text answer of `loghour analyze`.
    await inContext({ javaScriptEnabled: false }, async (context) => {
      const page = await context.newPage()
      await page.goto(pathToFileURL(file).href)
      expect(await page.isVisible('noscript pre')).toBe(true)
      const body = await page.textContent('noscript pre')
      expect(body).toContain('Peak hour: 09:00–09:59, 3 distinct users (day, IP) hit server errors')
      expect(body).toContain('lines: 10 read, 7 counted, 2 skipped, 1 invalid')
    })
  })

  /** The heatmap's cells as drawn: users and opacity per [weekday][hour]. */
  const cellsOf = (page: Page) =>
    page.$$eval('#grid .cell', (cells: { dataset: Record<string, string | undefined> }[]) =>
      cells.map((c) => ({
        weekday: Number(c.dataset.weekday),
        hour: Number(c.dataset.hour),
        users: Number(c.dataset.users),
        opacity: Number(getComputedStyle(c).opacity),
      })),
    )

  it('analyze --html --by weekday draws the Monday–Friday table under the bars, and the live page of a --daily server too', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'loghour-heat-'))
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
    const input = join(dir, 'access.log')
    // Monday 9h: 3 users; Tuesday 9h: 1; Friday 17h: 2.
    writeFileSync(input, payload([...FIRST.slice(0, 4), error(9, 'u7', 24), error(17, 'u8', 27), error(17, 'u9', 27)]))
    const file = join(dir, 'report.html')
    const [report, json] = await Promise.all([
      run('loghour.js', ['analyze', '--by', 'weekday', '--html', file, input]),
      run('loghour.js', ['analyze', '--by', 'weekday', '--json', input]),
    ])
    expect(report.code).toBe(0)
    const { weekdays } = JSON.parse(json.stdout.toString()) as { weekdays: number[][] }
    expect([weekdays[0]![9], weekdays[1]![9], weekdays[4]![17]]).toEqual([3, 1, 2])
    const page = await browser!.newPage({ viewport: { width: 1100, height: 900 } })
    try {
      await page.goto(pathToFileURL(file).href)
      await until(page, '#grid .cell[data-users]')
      expect(await page.isVisible('#heat')).toBe(true)
      expect(await page.textContent('#heat-title')).toBe('By weekday and hour, 2026-11-23 to 2026-11-27')
      const cells = await cellsOf(page)
      expect(cells).toHaveLength(5 * 24)
      for (const cell of cells) expect(cell.users, `${cell.weekday} ${cell.hour}`).toBe(weekdays[cell.weekday]![cell.hour])
      // Shade follows the count: the maximum is opaque, smaller counts lighter, empty cells plain.
      const at = (w: number, h: number) => cells.find((c) => c.weekday === w && c.hour === h)!.opacity
      expect(at(0, 9)).toBeCloseTo(1)
      expect(at(4, 17)).toBeLessThan(at(0, 9))
      expect(at(1, 9)).toBeLessThan(at(4, 17))
      await page.locator('#heat').screenshot({ path: join(OUTPUT, 'heatmap.png') })
    } finally {
      await page.close()
    }

    // A live --daily server: the table of its retained days, from lines dated this week.
    const { server, base } = await withHttp(['--daily'])
    const monday = new Date()
    monday.setUTCDate(monday.getUTCDate() - ((monday.getUTCDay() + 6) % 7))
    const date = monday.toISOString().slice(0, 10)
    await sendTcp(server.port, Buffer.from(`{"time":"${date} 11:00:00","ip":"live","status_code":500}\n`))
    const live = await browser!.newPage()
    try {
      await live.goto(base)
      await until(live, '#grid .cell[data-weekday="0"][data-hour="11"][data-users="1"]')
      expect(await live.isVisible('#heat')).toBe(true)
    } finally {
      await live.close()
    }
  })
})

describe.skipIf(missing('chromium (apt-get install chromium)', existsSync(CHROMIUM)))('the share hurt and the groups in Chromium', () => {
  let browser: Browser | undefined
  beforeAll(async () => {
    mkdirSync(OUTPUT, { recursive: true })
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] })
  })
  afterAll(async () => {
    await browser?.close()
  })

  /** Monday 9h: 10 users, 3 hurt (on two routes); 14h: 2 users, both hurt; Tuesday 9h: 1 of 4. */
  const record = (day: number, hour: number, ip: string, status: number, path: string) =>
    JSON.stringify({ time: `2026-11-${day} ${String(hour).padStart(2, '0')}:15:00`, ip, status_code: status, path })
  const LINES = [
    ...Array.from({ length: 10 }, (_, i) => record(23, 9, `a${i}`, i < 2 ? 500 : i < 3 ? 503 : 200, i < 2 ? `/users/${i}` : '/cart')),
    record(23, 14, 'b1', 502, '/cart?x=1'),
    record(23, 14, 'b2', 500, '/users/77'),
    ...Array.from({ length: 4 }, (_, i) => record(24, 9, `c${i}`, i === 0 ? 500 : 200, '/search')),
  ]

  it('analyze --html --all-users --group-by: both rankings side by side, the share of each hour, the groups with sparklines, the heatmap by share; and the live page', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'loghour-share-'))
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
    const input = join(dir, 'access.log')
    writeFileSync(input, payload(LINES))
    const file = join(dir, 'report.html')
    const flags = ['--all-users', '--min-users', '2', '--group-by', 'path', '--by', 'weekday']
    const report = await run('loghour.js', ['analyze', ...flags, '--html', file, input])
    expect(report.code).toBe(0)
    const page = await browser!.newPage({ viewport: { width: 1100, height: 1300 } })
    try {
      await page.goto(pathToFileURL(file).href)
      await until(page, '#group-list li')
      expect(await page.isVisible('#shares')).toBe(true)
      // Most users hurt: 09:00 (4 of 14 users over the two days); largest share: 14:00 (2 of 2).
      expect(await page.locator('#rank-hurt li').allTextContents()).toEqual(['09:00 — 4 of 14 users', '14:00 — 2 of 2 users'])
      expect(await page.locator('#rank-share li').allTextContents()).toEqual(['14:00 — 100.0 % (2 of 2)', '09:00 — 28.6 % (4 of 14)'])
      expect(await page.textContent('#share-note')).toContain('at least 2 users')
      expect(await page.textContent('#share-note')).toContain('±1.15 %')
      expect(await page.textContent('.share[data-hour="14"]')).toBe('100%')
      expect(await page.getAttribute('.share[data-hour="14"]', 'data-peak')).toBe('')
      // The groups: routes, most users first, each with 24 sparkline bars.
      expect(await page.textContent('#groups-title')).toBe('Users hurt by path')
      const values = await page
        .locator('#group-list li')
        .evaluateAll((items) =>
          items.map((li) => [(li as unknown as { dataset: { value: string } }).dataset.value, li.querySelectorAll('.spark i').length]),
        )
      expect(values).toEqual([
        ['/users/:id', 24],
        ['/cart', 24],
        ['/search', 24],
      ])
      expect(await page.textContent('#group-list li:first-child .gu')).toBe('3')
      await page.locator('main').screenshot({ path: join(OUTPUT, 'share-groups.png') })
      // The heatmap by share: Monday 14h (100 %) is the darkest, Tuesday 9h (25 %) lighter.
      await page.click('#heat-by')
      expect(await page.textContent('#heat-title')).toMatch(/^Share hurt by weekday and hour \(cells with at least 2 users\)/)
      const opacity = (w: number, h: number) =>
        page.$eval(`#grid .cell[data-weekday="${w}"][data-hour="${h}"]`, (cell) => Number(getComputedStyle(cell).opacity))
      expect(await opacity(0, 14)).toBeCloseTo(1)
      expect(await opacity(1, 9)).toBeLessThan(await opacity(0, 9))
      await page.locator('#heat').screenshot({ path: join(OUTPUT, 'heatmap-share.png') })
    } finally {
      await page.close()
    }

    // The live page of a server counting every user and grouping: the same cards, from the stream.
    const { server, base } = await withHttp(['--all-users', '--min-users', '2', '--group-by', 'path'])
    await sendTcp(server.port, payload(LINES))
    const live = await browser!.newPage()
    try {
      await live.goto(base)
      await until(live, '#group-list li[data-value="/search"]')
      await until(live, '#rank-share li')
      expect(await live.locator('#rank-share li').first().textContent()).toBe('14:00 — 100.0 % (2 of 2)')
    } finally {
      await live.close()
    }
  })
})

interface Received {
  data: Record<string, unknown> & {
    at: number
    hours: number[] | null
    lines: { total: number }
    linesPerSecond: number | null
    store: { reachable: boolean }
  }
  /** performance.now() when it arrived. */
  arrived: number
}

/** The `data:` messages of an event stream, as they arrive. */
async function* eventsOf(response: Response): AsyncGenerator<Received> {
  const decoder = new TextDecoder()
  let buffered = ''
  for await (const chunk of response.body!) {
    buffered += decoder.decode(chunk, { stream: true })
    const messages = buffered.split('\n\n')
    buffered = messages.pop()!
    for (const m of messages) {
      const data = m
        .split('\n')
        .filter((line) => line.startsWith('data: '))
        .map((line) => line.slice(6))
      if (data.length > 0) yield { data: JSON.parse(data.join('\n')), arrived: performance.now() }
    }
  }
}

describe('GET /events', () => {
  it('a snapshot at once, then one a second with lines/s between them; bounded clients; SIGTERM ends the streams', async () => {
    const { server, base } = await withHttp()
    const started = performance.now()
    const response = await fetch(`${base}/events`)
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8')
    const events = eventsOf(response)
    const received: Received[] = []
    const next = async () => {
      const { value, done } = await events.next()
      expect(done).toBe(false)
      received.push(value as Received)
      return value as Received
    }
    const first = await next()
    // Before the shared timer's first tick.
    expect(first.arrived - started).toBeLessThan(900)
    expect(first.data).toEqual({
      hours: Array(24).fill(0),
      peakHour: null,
      peakUsers: 0,
      lines: { total: 0, counted: 0, skipped: 0, invalid: 0, blank: 0 },
      invalid: expect.objectContaining({ json: 0 }),
      linesPerSecond: null,
      store: { kind: 'memory', reachable: true },
      at: expect.any(Number),
    })
    await sendTcp(server.port, payload(FIRST))
    while (received.length < 3 || received.at(-1)!.data.lines.total < 10) await next()
    const last = received.at(-1)!.data
    expect(last).toMatchObject({ peakHour: 9, peakUsers: 3, lines: { total: 10, counted: 7, skipped: 2, invalid: 1, blank: 1 } })
    for (let i = 1; i < received.length; i++) {
      const [before, after] = [received[i - 1]!.data, received[i]!.data]
      expect(after.at - before.at).toBeGreaterThanOrEqual(900)
      expect(after.linesPerSecond).toBeCloseTo(((after.lines.total - before.lines.total) * 1000) / (after.at - before.at), 6)
    }
    expect((await fetch(`${base}/healthz`)).status).toBe(200) // the listener still serves

    // 32 streams at most; one more is refused until one goes.
    const others = await Promise.all(Array.from({ length: 31 }, () => fetch(`${base}/events`)))
    expect(others.map((r) => r.status)).toEqual(Array(31).fill(200))
    const refused = await fetch(`${base}/events`)
    expect(refused.status).toBe(503)
    expect(await refused.json()).toEqual({ error: 'too many event streams (32)' })
    await others.pop()!.body!.cancel()
    await eventually(
      async () => {
        const again = await fetch(`${base}/events`)
        if (again.status !== 200) await again.body!.cancel()
        return again.status === 200
      },
      10_000,
      'a stream admitted once another left',
    )

    expect(await server.stop()).toBe(0)
    // The stream ends with the server: done, or cut off.
    await (async () => {
      while (!(await events.next()).done);
    })().catch(() => {})
  })
})

/** Reads events until one satisfies `match`. */
async function nextMatching(events: AsyncGenerator<Received>, match: (data: Received['data']) => boolean): Promise<Received['data']> {
  // Not `for await`: leaving it would close the stream.
  for (let next = await events.next(); !next.done; next = await events.next()) if (match(next.value.data)) return next.value.data
  throw new Error('the event stream ended')
}

describe.skipIf(skipRedis())('GET /events with a real Redis', () => {
  it('while Redis stalls the hours are unknown, with the reason, and lines are still counted; then the hours return', async () => {
    const redis = await startRedis()
    try {
      const { server, base } = await withHttp(['--redis', redis.url, '--flush-interval', '50', '--redis-timeout', '200'])
      await sendTcp(server.port, payload(FIRST))
      const events = eventsOf(await fetch(`${base}/events`))
      const up = await nextMatching(events, (d) => d.hours?.[9] === 3)
      expect(up).toMatchObject({ peakHour: 9, store: { kind: 'redis', reachable: true } })
      redis.process.kill('SIGSTOP')
      const down = await nextMatching(events, (d) => d.hours === null)
      expect(down).toMatchObject({ peakHour: null, peakUsers: null, store: { kind: 'redis', reachable: false }, lines: { total: 10 } })
      expect(down.error).toEqual(expect.any(String))
      await sendTcp(server.port, payload([error(14, 'u7')]))
      expect(await nextMatching(events, (d) => d.lines.total === 11)).toMatchObject({ hours: null })
      redis.process.kill('SIGCONT')
      const back = await nextMatching(events, (d) => d.hours !== null && d.store.reachable)
      expect(back).toMatchObject({ peakHour: 9, lines: { total: 11 } })
      expect(back.hours![14]).toBe(2)
      expect(await server.stop()).toBe(0)
    } finally {
      redis.process.kill('SIGCONT')
      await redis.stop()
    }
  })
})

describe.skipIf(
  missing('chromium (apt-get install chromium)', existsSync(CHROMIUM)) ||
    missing('Java and the Kafka broker jars (bash .ci/run copies them from Maven Central)', kafkaAvailable),
)('the live page of a Kafka consumer in Chromium', () => {
  const broker = useKafka()

  it('shows the group, its partitions here and their lag, and when no broker answers', async () => {
    const { kafka, admin } = await kafkaTopic(broker, 'page', 2)
    await admin.disconnect()
    await produce(kafka, 'page', SECOND)
    const { server, base } = await withHttp(['--kafka', broker.bootstrap, '--kafka-topic', 'page', '--kafka-group', 'dashboard'])
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] })
    onTestFinished(() => browser.close())
    mkdirSync(OUTPUT, { recursive: true })
    const page = await browser.newPage({ viewport: { width: 1100, height: 720 } })
    await page.goto(base)
    await page.waitForFunction(
      () =>
        document.querySelector('#kafka')?.textContent === 'lag 0' &&
        document.querySelector('#kafka-group')?.textContent?.includes('2 partitions'),
      undefined,
      {
        timeout: 30_000,
      },
    )
    expect(await page.$eval('#kafka-group', (el) => el.textContent)).toBe('Kafka dashboard · 2 partitions')
    expect(await page.$eval('#kafka', (el) => el.getAttribute('title'))).toBe('page/0: lag 0\npage/1: lag 0')
    expect(await page.$eval('#kafka-box', (el) => el.hidden)).toBe(false)
    await page.screenshot({ path: join(OUTPUT, 'kafka.png') })
    await broker.halt()
    await page.waitForFunction(() => document.querySelector('#kafka')?.textContent === 'no broker answers', undefined, {
      timeout: 40_000,
    })
    expect(await page.$eval('#kafka', (el) => el.dataset.connected)).toBe('false')
    expect(await server.stop()).toBe(0)
  }, 90_000)
})
