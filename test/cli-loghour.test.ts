import { spawn, spawnSync } from 'node:child_process'
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { describe, expect, it, onTestFinished } from 'vitest'
import { replaceProblem } from '../src/cli/analyze.js'
import { INVALID_REASONS } from '../src/index.js'
import { renderLines, renderStats } from '../src/render.js'
import { bin, ROOT, run } from './helpers/cli.js'

const reference = join(__dirname, 'fixtures/reference-12.log')
const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version

/** The design's formulas for the demo streams, written independently with Date. */
function demo(pattern: 1 | 2, start: number, count: number): string {
  let out = ''
  for (let i = start; i < start + count; i++) {
    const [a, b, t, status] =
      pattern === 1
        ? [(i * 191) % 256, (i * 219) % 250, 1557824751 + i, ((Math.floor((i * 55) / 6) % 4) + 2) * 100 + ((i * 19) % 4)]
        : [(i * 19) % 256, (i * 37) % 250, 1420063200 + 2 * i, ((Math.floor((i * 8) / 6) % 4) + 2) * 100 + ((i * 13) % 4)]
    const iso = new Date(t * 1000).toISOString()
    out += `{"time":"${iso.slice(0, 10)} ${iso.slice(11, 19)}","ip":"10.0.${a}.${b}","status_code":${status}}\n`
  }
  return out
}

describe('loghour gen', () => {
  it('pattern 1 is byte-identical to the formulas (200k lines)', async () => {
    const r = await run('loghour.js', ['gen', '--pattern', '1', '-n', '200000'])
    expect(r.code).toBe(0)
    expect(r.stdout.toString() === demo(1, 1, 200_000)).toBe(true)
  })

  it('pattern 2 from a later start', async () => {
    const r = await run('loghour.js', ['gen', '-p', '2', '-n', '5000', '--start', '123456789'])
    expect(r.stdout.toString()).toBe(demo(2, 123456789, 5000))
  })

  it('rejects a bad pattern with exit code 2', async () => {
    const r = await run('loghour.js', ['gen', '-p', '4', '-n', '1'])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain("option '-p, --pattern <1|2|3>' argument '4' is invalid. expected one of 1, 2, 3")
  })
})

describe('loghour analyze', () => {
  it('prints the peak hour and 24 bars', async () => {
    const r = await run('loghour.js', ['analyze', reference])
    expect(r.code).toBe(0)
    const text = r.stdout.toString()
    expect(text).toContain('Peak hour: 17:00–17:59, 4 distinct users (day, IP) hit server errors')
    const rows = text.split('\n').filter((l) => /^\d\d:00 /.test(l))
    expect(rows).toHaveLength(24)
    expect(rows[17]).toBe(`17:00      4  ${'█'.repeat(40)}`)
    expect(rows[16]).toBe(`16:00      1  ${'█'.repeat(10)}`)
    expect(rows[3]).toBe('03:00      0')
    expect(text).toContain('lines: 12 read, 6 counted, 6 skipped, 0 invalid')
  })

  it('--json prints the stats object; stdin and "-" work', async () => {
    const input = readFileSync(reference)
    const r = await run('loghour.js', ['analyze', '--json', '-', reference], input)
    const stats = JSON.parse(r.stdout.toString())
    expect(stats.hours[16]).toBe(1)
    expect(stats.hours[17]).toBe(4)
    expect(stats.peakHour).toBe(17)
    expect(stats.lines.total).toBe(24)
    expect(Object.keys(stats.invalid)).toEqual(['json', 'notObject', 'missingField', 'wrongType', 'utf8', 'badTime', 'tooLong', 'clf'])
  })

  it('--format clf reads nginx and Apache Combined lines as they write them', async () => {
    // Bytes as nginx 1.22 writes its combined log (\x22 for a quote), and an Apache line (\").
    const lines = [
      '127.0.0.4 - - [23/Nov/2026:09:15:00 -0500] "GET /e500 HTTP/1.1" 500 177 "-" "Mozilla/5.0 (X11; \\x22quoted\\x22 agent 1)"',
      '127.0.0.5 - frank [23/Nov/2026:09:59:59 -0500] "GET /a\\"b HTTP/1.0" 503 0',
      '127.0.0.4 - - [23/Nov/2026:09:30:00 -0500] "GET /e502 HTTP/1.1" 502 0 "-" "curl/8.5"', // the same user again
      '127.0.0.6 - - [22/Nov/2026:09:15:00 -0500] "GET / HTTP/1.1" 500 0 "-" "-"', // a Sunday
      '127.0.0.7 - - [23/Nov/2026:10:00:00 -0500] "GET / HTTP/1.1" 404 0 "-" "-"',
      '{"time":"2026-11-23 09:15:00","ip":"127.0.0.8","status_code":500}',
    ]
    const r = await run('loghour.js', ['analyze', '--format', 'clf', '--json'], `${lines.join('\n')}\n`)
    expect(r.code).toBe(0)
    const stats = JSON.parse(r.stdout.toString())
    expect(stats.hours[9]).toBe(2)
    expect(stats.hours.reduce((a: number, b: number) => a + b, 0)).toBe(2)
    expect(stats.lines).toEqual({ total: 6, counted: 3, skipped: 2, invalid: 1, blank: 0 })
    expect(stats.invalid.clf).toBe(1)
    const bad = await run('loghour.js', ['analyze', '--format', 'nginx'], '')
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain("argument 'nginx' is invalid. expected auto, json or clf")
  })

  it('analyze takes every reading flag; unknown names get a close match, exit 2', async () => {
    const ecs = '{"@timestamp":"2026-11-27T23:30:00Z","source":{"ip":"a"},"http":{"response":{"status_code":"503"}}}\n'
    const utc = await run('loghour.js', ['analyze', '--json', '--schema', 'ecs'], ecs)
    expect(JSON.parse(utc.stdout.toString()).hours[23]).toBe(1) // Friday 23:30 UTC
    const tokyo = await run('loghour.js', ['analyze', '--json', '--schema', 'ecs', '--timezone', 'Asia/Tokyo'], ecs)
    expect(JSON.parse(tokyo.stdout.toString()).lines).toMatchObject({ counted: 0, skipped: 1 }) // Saturday in Tokyo
    const fields = await run(
      'loghour.js',
      ['analyze', '--json', '--field', 'time=t', '--field', 'ip=c.ip', '--time-unit', 'ms'],
      '{"t":1795443300068,"c":{"ip":"x"},"status_code":500}\n',
    )
    expect(JSON.parse(fields.stdout.toString()).hours[14]).toBe(1)
    const stream = await run(
      'loghour.js',
      ['analyze', '--json', '--framing', 'json-stream'],
      '{"time":"2026-11-23 09:00:00","ip":"a","status_code":500}{"time":"2026-11-23 09:00:00","ip":"b","status_code":500}',
    )
    expect(JSON.parse(stream.stdout.toString()).hours[9]).toBe(2)
    for (const [args, text] of [
      [
        ['--schema', 'ecss'],
        "argument 'ecss' is invalid. expected one of original, ecs, caddy, pino-http, traefik, gcp (did you mean ecs?)",
      ],
      [['--timezone', 'America/NewYork'], 'did you mean America/New_York?'],
      [['--field', 'when=ts'], 'expected time=PATH, ip=PATH or status=PATH'],
      // The command speaks in flags, not in the library's option names.
      [['--source-timezone', 'UTC'], 'loghour: --source-timezone needs --timezone (the zone the times are converted to)\n'],
      [['--framing', 'json-stream', '--format', 'clf'], 'loghour: --framing json-stream frames JSON values'],
      [['--field', 'time=ip'], 'loghour: invalid --field: time, ip and status must be three different field paths'],
    ] as const) {
      const r = await run('loghour.js', ['analyze', ...args], '')
      expect(r.code, args.join(' ')).toBe(2)
      expect(r.stderr).toContain(text)
      expect(r.stderr.trim().split('\n')).toHaveLength(1)
    }
  })

  it('no errors at all', async () => {
    const r = await run('loghour.js', ['analyze'], '{"time":"2019-05-06 17:24:53","ip":"a","status_code":200}\nnot json\n')
    expect(r.stdout.toString()).toContain('No server errors (5xx on Monday–Friday) found')
    expect(r.stdout.toString()).toContain('lines: 2 read, 0 counted, 1 skipped, 1 invalid\ninvalid: json 1\n')
  })

  it('a missing file is a clear error, exit code 1', async () => {
    const r = await run('loghour.js', ['analyze', '/nonexistent/x.log'])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^loghour: cannot read \/nonexistent\/x.log: ENOENT/)
  })

  it('--html FILE writes the report with the stats JSON embedded; stdout unchanged; write failures are one line, exit 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'loghour-html-'))
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
    const file = join(dir, 'report.html')
    const [report, plain, json] = await Promise.all([
      run('loghour.js', ['analyze', '--html', file, reference]),
      run('loghour.js', ['analyze', reference]),
      run('loghour.js', ['analyze', '--json', reference]),
    ])
    expect([report.code, report.stderr]).toEqual([0, ''])
    expect(report.stdout.toString()).toBe(plain.stdout.toString())
    const html = readFileSync(file, 'utf8')
    const embedded = JSON.parse(/<script type="application\/json" id="loghour-data">(.*?)<\/script>/s.exec(html)![1]!)
    expect(embedded).toEqual({ ...JSON.parse(json.stdout.toString()), generatedAt: expect.any(String), sources: [reference] })
    expect(Date.parse(embedded.generatedAt)).toBeGreaterThan(Date.now() - 60_000)
    // An input that cannot be read leaves the previous report whole, and no temporary file.
    const failed = await run('loghour.js', ['analyze', '--html', file, '/nonexistent/x.log'])
    expect(failed.code).toBe(1)
    expect(readFileSync(file, 'utf8')).toBe(html)
    expect(readdirSync(dir)).toEqual(['report.html'])
    const unwritable = await run('loghour.js', ['analyze', '--html', join(dir, 'missing/r.html'), reference])
    expect(unwritable.code).toBe(1)
    expect(unwritable.stdout.toString()).toBe('')
    expect(unwritable.stderr).toBe(`loghour: cannot write ${join(dir, 'missing/r.html')}: ENOENT: no such file or directory\n`)
    const directory = await run('loghour.js', ['analyze', '--html', dir, reference])
    expect([directory.code, directory.stderr]).toEqual([1, `loghour: cannot write ${dir}: EISDIR: it is a directory\n`])
    const dash = await run('loghour.js', ['analyze', '--html', '-', reference])
    expect(dash.code).toBe(2)
    expect(dash.stderr).toBe(
      "loghour: option '--html <file>' argument '-' is invalid. expected a file name (the answer itself still goes to stdout)\n",
    )
  })

  it("--html onto another user's file in a sticky directory is refused, by the rule the kernel applies", () => {
    const dir = mkdtempSync(join(tmpdir(), 'loghour-sticky-'))
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
    chmodSync(dir, 0o1777) // like /tmp
    const file = join(dir, 'report.html')
    writeFileSync(file, 'the old report')
    const owner = statSync(file).uid
    const other = owner === 65534 ? 65533 : 65534
    expect(replaceProblem(file, other)).toBe('EPERM: it belongs to another user in a sticky directory')
    expect(replaceProblem(file, owner)).toBeNull()
    expect(replaceProblem(file, 0)).toBeNull()
    expect(replaceProblem(join(dir, 'new.html'), other)).toBeNull()
    chmodSync(dir, 0o777) // not sticky: anyone who may write the directory may replace it
    expect(replaceProblem(file, other)).toBeNull()
  })

  // Root may replace anyone's file: the end-to-end case runs the command as another user, who must
  // be able to read this build (a checkout in a private folder, as a fresh CI clone's, is not).
  const nobodyReads =
    process.getuid?.() === 0 &&
    spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'test', '-r', bin('loghour.js')]).status === 0
  it.skipIf(!nobodyReads)("--html onto another user's file in a sticky directory fails before any input is read", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'loghour-sticky-'))
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
    chmodSync(dir, 0o1777) // like /tmp
    const file = join(dir, 'report.html')
    writeFileSync(file, 'the old report') // root's
    // As nobody, with stdin open and nothing on it: it must not wait for the input first.
    const child = spawn(
      'setpriv',
      ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, bin('loghour.js'), 'analyze', '--html', file],
      {
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    )
    let stderr = ''
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000)
    const code = await new Promise((resolve) => child.on('close', resolve))
    clearTimeout(timer)
    child.stdin!.destroy()
    expect([code, stderr]).toEqual([1, `loghour: cannot write ${file}: EPERM: it belongs to another user in a sticky directory\n`])
    expect(readFileSync(file, 'utf8')).toBe('the old report')
    expect(readdirSync(dir)).toEqual(['report.html'])
  })

  it('--help and --version', async () => {
    const help = await run('loghour.js', ['--help'])
    expect(help.code).toBe(0)
    expect(help.stdout.toString()).toMatch(/analyze \[options\] \[files\.\.\.\]/)
    expect(help.stdout.toString()).toMatch(/gen \[options\]/)
    const v = await run('loghour.js', ['--version'])
    expect(v.stdout.toString().trim()).toBe(version)
    const sub = await run('loghour.js', ['analyze', '--help'])
    expect(sub.stdout.toString()).toContain('--max-line-bytes <bytes>')
    expect(sub.stdout.toString()).toContain('[default 65536]')
  })
})

describe('the human report fits a terminal', () => {
  it('every line is at most 80 columns, whatever the counts, and every invalid reason with lines is named once', () => {
    const count = fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 999 }), fc.integer({ min: 0, max: 1e13 }))
    fc.assert(
      fc.property(
        fc.array(count, { minLength: INVALID_REASONS.length, maxLength: INVALID_REASONS.length }),
        count,
        count,
        (perReason, counted, skipped) => {
          const invalid = Object.fromEntries(INVALID_REASONS.map((r, i) => [r, perReason[i]!])) as Record<
            (typeof INVALID_REASONS)[number],
            number
          >
          const invalidTotal = perReason.reduce((a, b) => a + b, 0)
          const lines = { total: counted + skipped + invalidTotal, counted, skipped, invalid: invalidTotal, blank: 0 }
          const hours = Array.from({ length: 24 }, (_, h) => (h === 9 ? counted : Math.floor(counted / 2)))
          const text = renderStats({ hours, peakHour: counted > 0 ? 9 : null, peakUsers: counted, lines, invalid })
          for (const line of text.split('\n')) expect([...line].length, line).toBeLessThanOrEqual(80)
          const summary = renderLines({ lines, invalid })
          for (const [reason, n] of Object.entries(invalid)) {
            expect(summary.split(new RegExp(`\\b${reason} ${n}\\b`)).length - 1).toBe(n > 0 ? 1 : 0)
          }
        },
      ),
      { numRuns: 300 },
    )
  })
})
