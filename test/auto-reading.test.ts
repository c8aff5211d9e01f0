// --format auto (the default): a stream decides its reading from its first records, and is then
// counted exactly as that reading set explicitly would count it, whatever the chunks; what cannot
// be read is said, with the flags that would read it.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import { createScanner, type Reading, type ScannerOptions, type Stats } from '../src/index.js'
import { cuts, splitAt } from './helpers/arbitraries.js'
import { run } from './helpers/cli.js'
import { anyReading, anyReadingStream } from './helpers/readings.js'
import { message, sendTcp, startServer } from './helpers/server.js'

/** The options that set `reading` explicitly. */
function explicit(reading: Reading): ScannerOptions {
  const set: ScannerOptions = { format: reading.format, framing: reading.framing === 'json-stream' ? 'json-stream' : 'lines' }
  if (reading.envelope !== undefined) set.envelope = reading.envelope
  if (reading.format === 'json') {
    if (reading.strict) set.schema = 'original'
    else Object.assign(set, { fields: reading.fields, timeUnit: reading.timeUnit })
  }
  return set
}

/** Counters and the counted (hour, hash) sequence of `chunks` read by a scanner with `options`. */
function scan(options: ScannerOptions, chunks: Buffer[]) {
  const scanner = createScanner(options)
  const counted: string[] = []
  const take = ({ hours, hashes }: { hours: Uint8Array; hashes: BigUint64Array }) => {
    hours.forEach((h, i) => {
      counted.push(`${h}:${hashes[i]}`)
    })
  }
  for (const chunk of chunks) take(scanner.scan(chunk))
  take(scanner.end())
  return { counts: scanner.lineCounts(), counted, reading: scanner.reading }
}

describe('format auto', () => {
  it('counts a stream exactly as the reading it decided on, set explicitly, for any chunks (also past the 64 KiB look-ahead)', () => {
    fc.assert(
      fc.property(anyReading, fc.integer({ min: 0, max: 3 }), cuts, cuts, (reading, repeat, at, again) => {
        // The same stream, generated for `reading`, read without saying how (only the zones kept).
        const zones: ScannerOptions = {}
        if (reading.options.timezone) zones.timezone = reading.options.timezone as string
        if (reading.options.sourceTimezone) zones.sourceTimezone = reading.options.sourceTimezone as string
        return fc.assert(
          fc.property(anyReadingStream(reading.rule), (one) => {
            const data = repeat === 0 ? one : Buffer.concat(Array.from({ length: 1 + repeat * 400 }, () => one))
            const auto = scan(zones, splitAt(data, at))
            if (auto.reading === undefined) {
              expect(auto.counts.lines.total).toBe(0) // only a stream with no record decides nothing
              return
            }
            expect(auto.reading.detected).toBe(true)
            const set = scan({ ...zones, ...explicit(auto.reading) }, splitAt(data, again))
            if (auto.reading.unreadBefore !== undefined) {
              // Its first records were counted (invalid) before any reading read one: the rest is
              // read as decided, so only the records are the same (one the envelope calls blank,
              // `{"message":""}`, was an invalid record under the reading of the stream's shape).
              const all = ({ lines }: typeof auto.counts) => lines.total + lines.blank
              expect(all(auto.counts)).toBe(all(set.counts))
              return
            }
            expect(auto.counts).toEqual(set.counts)
            expect(auto.counted).toEqual(set.counted)
          }),
          { numRuns: 3 },
        )
      }),
      { numRuns: 150 },
    )
  })

  it('reads every schema, Combined lines, envelopes and JSON streams by itself', () => {
    const cases: [string, string][] = [
      ['combined', '10.0.0.1 - - [23/Nov/2026:09:15:00 -0500] "GET / HTTP/1.1" 502 0 "-" "curl/8"\n'],
      ['common', '10.0.0.1 - - [23/Nov/2026:09:15:00 -0500] "GET / HTTP/1.1" 502 0\n'],
      ['original', '{"time":"2026-11-23 09:15:00","ip":"10.0.0.1","status_code":502}\n'],
      ['caddy', '{"ts":1795443300.5,"request":{"remote_ip":"10.0.0.1"},"status":502}\n'],
      ['json', '{"time_iso8601":"2026-11-23T09:15:00-05:00","remote_addr":"10.0.0.1","status":"502"}\n'],
      ['json', '{"timestamp":"2026-11-23T14:15:00Z","client_ip":"10.0.0.1","http_status":502}\n'],
    ]
    for (const [name, data] of cases) {
      const { counts, reading } = scan({}, [Buffer.from(data)])
      expect(reading?.name, data).toBe(name)
      expect(counts.lines.counted, data).toBe(1)
    }
    // A JSON stream without newlines.
    const one = '{"time":"2026-11-23 09:15:00","ip":"10.0.0.1","status_code":502}'
    const stream = scan({}, [Buffer.from(`${one}${one.replace('10.0.0.1', '10.0.0.2')}`)])
    expect(stream.reading).toMatchObject({ name: 'original', framing: 'json-stream' })
    expect(stream.counts.lines.counted).toBe(2)
    // The original layout keeps the original rule: a string status stays wrongType.
    const strict = scan({}, [Buffer.from(`${one.replace(':502', ':"502"')}\n${one}\n`)])
    expect(strict.reading).toMatchObject({ name: 'original', strict: true })
    expect(strict.counts.invalid.wrongType).toBe(1)
    // Junk sent first, each line its own chunk, decides nothing: it is invalid at once, and the
    // log after it is read as it is.
    const junkFirst = scan({}, [Buffer.from('hello\n'), Buffer.from('GET / HTTP/1.1\n'), Buffer.from(`${one}\n`), Buffer.from(`${one}\n`)])
    expect(junkFirst.reading).toMatchObject({ name: 'original', readable: 1, sampled: 1, unreadBefore: 2 })
    expect(junkFirst.counts.lines).toMatchObject({ counted: 2, invalid: 2 })
    // A set schema is not guessed: the Caddy record under --schema ecs is missingField.
    const set = scan({ schema: 'ecs' }, [Buffer.from(cases[3]![1])])
    expect(set.reading).toMatchObject({ name: 'ecs' })
    expect(set.counts.invalid.missingField).toBe(1)
  })
})

describe('loghour analyze on what it cannot read', () => {
  const dir = mkdtempSync(join(tmpdir(), 'loghour-unreadable-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  const file = (name: string, data: string | Buffer) => {
    const path = join(dir, name)
    writeFileSync(path, data)
    return path
  }

  it.each([
    ['random bytes', 'random.bin', () => Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 256)), /binary data/],
    [
      'a CSV export',
      'export.csv',
      () => 'time,ip,status\n2026-11-23 09:15:00,10.0.0.1,502\n2026-11-23 09:16:00,10.0.0.2,200\n',
      /comma-separated/,
    ],
    [
      'an nginx error log',
      'error.log',
      () =>
        '2026/11/23 09:15:00 [error] 1234#1234: *1 connect() failed (111: Connection refused) while connecting to upstream, client: 10.0.0.1, server: _, request: "GET / HTTP/1.1", upstream: "http://127.0.0.1:8080/", host: "localhost"\n',
      /an nginx error log/,
    ],
    [
      'JSON without known fields',
      'app.json',
      () => '{"when":"2026-11-23T09:15:00Z","who":"10.0.0.1","result":502}\n',
      /keys when, who, result/,
    ],
  ])('%s: exit 3, one paragraph naming what the lines look like and flags that would read them', async (_, name, data, looks) => {
    const path = file(name, data())
    for (const json of [[], ['--json']]) {
      const result = await run('loghour.js', ['analyze', ...json, path])
      expect(result.code).toBe(3)
      expect(result.stdout.toString()).toBe('')
      expect(result.stderr).toMatch(
        new RegExp(`^loghour: no line of ${path.replace(/[.]/g, '\\.')} could be read: \\d+ lines, all invalid\\. `),
      )
      expect(result.stderr).toMatch(looks)
      expect(result.stderr).toContain('--format clf')
      expect(result.stderr).toContain('--field status=')
      expect(result.stderr).toContain('--schema ')
      expect(result.stderr.trimEnd().split('\n')).toHaveLength(1)
    }
  })

  it('mostly unreadable: a warning with the first line not read, the answer, exit 0; one unreadable input of several: exit 3', async () => {
    const good = '{"time":"2026-11-23 09:15:00","ip":"10.0.0.1","status_code":502}\n'
    const mostly = file('mostly.log', `${good}not a record\nnor this\n`)
    const result = await run('loghour.js', ['analyze', mostly])
    expect(result.code).toBe(0)
    expect(result.stderr).toBe(
      `loghour: warning: 2 of 3 lines of ${mostly} read as JSON records, original layout (time, ip, status_code) are invalid. First line not read (json): "not a record".\n`,
    )
    expect(result.stdout.toString()).toMatch(
      /^read as JSON records, original layout \(time, ip, status_code\) \(detected\)\nPeak hour: 09:00/,
    )
    const csv = file('also.csv', 'a,b,c\n')
    const both = await run('loghour.js', ['analyze', '--json', file('good.log', good), csv])
    expect(both.code).toBe(3)
    expect(both.stderr).toMatch(/^loghour: no line of .*also\.csv could be read/)
    const answer = JSON.parse(both.stdout.toString())
    expect(answer.hours[9]).toBe(1)
    expect(answer.reading).toMatchObject([{ name: 'original' }, { name: 'common', readable: 0 }])
    // An empty file is not unreadable: there is nothing to read.
    expect((await run('loghour.js', ['analyze', file('empty.log', '')])).code).toBe(0)
  })
})

describe('loghour-server with no reading flag', () => {
  it('reads each connection its own way, logs the reading, counts readings in /stats and /metrics, and warns about unreadable connections', async () => {
    const server = await startServer(['--http', '127.0.0.1:0', '--log-level', 'debug', '--stats-interval', '0'])
    const http = await server.waitForLog(message('HTTP endpoints'), 0)
    const base = `http://127.0.0.1:${(http.http as { port: number }).port}`
    expect(server.logs[0]!.msg).toContain('reading: auto, each connection decides from its first records')
    await sendTcp(server.port, Buffer.from('10.0.0.1 - - [23/Nov/2026:09:15:00 -0500] "GET / HTTP/1.1" 502 0 "-" "curl/8"\n'))
    await sendTcp(server.port, Buffer.from('{"ts":1795443300.5,"request":{"remote_ip":"10.0.0.2"},"status":503}\n'))
    await sendTcp(server.port, Buffer.from('time,ip,status\nx,y,z\n'))
    const read = await server.waitForLog(message('connection from'), 0)
    expect(read.msg).toMatch(
      /^connection from 127\.0\.0\.1:\d+ read as nginx\/Apache Combined log lines \(detected from 1 records, 1 readable\)$/,
    )
    const warned = await server.waitForLog((r) => r.level === 40 && /lines from/.test(r.msg), 0)
    expect(warned.msg).toMatch(
      /^2 of 2 lines from 127\.0\.0\.1:\d+ were invalid, read as NCSA Common\/Combined log lines; first not read \(clf\): "time,ip,status"; set --format/,
    )
    const stats = (await (await fetch(`${base}/stats`)).json()) as Stats
    expect(stats.hours[9]).toBe(1)
    expect(stats.hours[14]).toBe(1)
    expect(stats.streams).toEqual({ readings: { combined: 1, caddy: 1, common: 1 }, unreadable: 1 })
    const metrics = await (await fetch(`${base}/metrics`)).text()
    expect(metrics).toContain('loghour_streams_total{reading="combined"} 1')
    expect(metrics).toContain('loghour_unreadable_streams_total 1')
    // An ingest body says how it was read, and why it is not "flushed" with the memory store.
    const ingest = await fetch(`${base}/ingest?sync=1`, {
      method: 'POST',
      body: '{"ts":1795443300.5,"request":{"remote_ip":"10.0.0.3"},"status":500}\n',
    })
    expect(await ingest.json()).toMatchObject({
      counted: 1,
      flushed: false,
      reading: 'caddy JSON records (ts, request.remote_ip, status)',
      notFlushed: expect.stringMatching(/^the memory store keeps counts in this process only/),
    })
    expect(await server.stop('SIGTERM')).toBe(0)
  })
})
