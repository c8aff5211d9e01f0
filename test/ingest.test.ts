// POST /ingest against a real loghour-server, a real Redis and real curl: NDJSON plain and gzip,
// a Logstash json_batch array, a body cut off mid-line (gzip truncated, and a connection closed
// before its Content-Length), a retry after it, limits, encodings and the token. Every count is
// compared with PFCOUNT of a plain Redis PFADDed the expected elements.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createConsumer, INVALID_REASONS } from '../src/index.js'
import { ROOT } from './helpers/cli.js'
import { modelStream } from './helpers/model.js'
import { pfaddReference, pfcounts, skipRedis, startRedis, useRedis } from './helpers/redis.js'
import { message, type ServerProcess, startServer } from './helpers/server.js'
import { selfSignedCertificate } from './helpers/tls.js'
import { missing } from './helpers/tools.js'

const CURL = spawnSync('curl', ['--version']).status === 0
const dir = mkdtempSync(join(tmpdir(), 'loghour-ingest-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** `n` records over two working weeks and a weekend, every status class, 60 clients, some invalid. */
function records(n: number, seed: number): string[] {
  const out: string[] = []
  for (let i = 0; i < n; i++) {
    const k = i * 7919 + seed * 104_729
    const day = 16 + (k % 14) // 2026-11-16 (Monday) … 2026-11-29 (Sunday)
    const hour = String((k >> 3) % 24).padStart(2, '0')
    const status = [200, 301, 404, 500, 502, 503, 504][(k >> 5) % 7]
    const ip = `10.1.${seed}.${(k >> 7) % 60}`
    out.push(
      k % 97 === 0
        ? '{"time":"broken'
        : JSON.stringify({ time: `2026-11-${day} ${hour}:${String(k % 60).padStart(2, '0')}:00`, ip, status_code: status }),
    )
  }
  return out
}

const file = (name: string, data: Buffer | string) => {
  const path = join(dir, name)
  writeFileSync(path, data)
  return path
}

/** curl's answer: status and JSON body. */
function curl(url: string, args: string[]): { status: number; body: Record<string, unknown> } {
  const r = spawnSync('curl', ['-sS', '-o', '-', '-w', '\n%{http_code}', ...args, url], { encoding: 'utf8' })
  const lines = r.stdout.trimEnd().split('\n')
  const status = Number(lines.pop())
  return { status, body: lines.length > 0 && lines.join('').length > 0 ? JSON.parse(lines.join('\n')) : {} }
}

const expected = (lines: string[]) => {
  const model = modelStream(Buffer.from(`${lines.join('\n')}\n`), 65536, INVALID_REASONS)
  return { lines: model.lines.total, counted: model.lines.counted, skipped: model.lines.skipped }
}

describe.skipIf(skipRedis() || missing('curl', CURL))('POST /ingest', () => {
  const redis = useRedis()
  let server: ServerProcess
  let base: string

  beforeAll(async () => {
    await redis.client().flushall()
    server = await startServer(['--http', '127.0.0.1:0', '--redis', redis.url, '--key-prefix', 'in:', '--flush-interval', '60000'])
    const record = await server.waitForLog(message('HTTP endpoints'), 0)
    base = `http://127.0.0.1:${(record.http as { port: number }).port}`
  })
  afterAll(async () => {
    await server?.stop('SIGTERM')
  })

  it('whitespace before the first record holds no memory and changes nothing: a batch after 1 MiB of it is a batch', () => {
    const one = '{"time":"2026-11-17 10:00:00","ip":"10.0.0.1","status_code":200}' // the other tests' Redis stays as they expect
    const padding = ' \t\r\n'.repeat(256 * 1024) // 1 MiB, 256 Ki blank lines if the body is lines
    const batch = curl(`${base}/ingest`, ['--data-binary', `@${file('ws-batch', `${padding}[${one},${one}]`)}`])
    expect(batch.body).toMatchObject({ lines: 2, skipped: 2, blank: 0, invalid: {} })
    const lines = curl(`${base}/ingest`, ['--data-binary', `@${file('ws-lines', `${padding}  ${one}\n`)}`])
    expect(lines.body).toMatchObject({ lines: 1, skipped: 1, blank: 256 * 1024, invalid: {} })
    expect(curl(`${base}/ingest`, ['--data-binary', ' \n  ']).body).toMatchObject({ lines: 0, blank: 2 })
  })

  it('counts NDJSON plain, gzip and a json_batch array, answers with the summary, and Redis holds what PFADD would', async () => {
    const plain = records(3000, 1)
    const gz = records(3000, 2)
    const batch = records(2000, 3).filter((l) => l.startsWith('{"time":"2026')) // an array holds whole records
    const a = curl(`${base}/ingest?sync=1`, [
      '-H',
      'Content-Type: application/x-ndjson',
      '--data-binary',
      `@${file('plain.ndjson', `${plain.join('\n')}\n`)}`,
    ])
    expect(a.status).toBe(200)
    expect(a.body).toMatchObject({ ...expected(plain), flushed: true })
    const b = curl(`${base}/ingest?sync=1`, [
      '-H',
      'Content-Encoding: gzip',
      '--data-binary',
      `@${file('gz.ndjson.gz', gzipSync(`${gz.join('\n')}\n`))}`,
    ])
    expect(b.status).toBe(200)
    expect(b.body).toMatchObject({ ...expected(gz), flushed: true })
    // Logstash's json_batch: one JSON array per request, no trailing newline; pretty-printed too.
    const array = `[\n  ${batch.join(',\n  ')}\n]`
    const c = curl(`${base}/ingest?sync=1`, ['-H', 'Content-Type: application/json', '--data-binary', `@${file('batch.json', array)}`])
    expect(c.status).toBe(200)
    expect(c.body).toMatchObject({ ...expected(batch), flushed: true })
    const all = Buffer.from(`${[...plain, ...gz, ...batch].join('\n')}\n`)
    await pfaddReference(redis, all, 'ref:')
    expect(await pfcounts(redis, 'in:')).toEqual(await pfcounts(redis, 'ref:'))
    expect((await pfcounts(redis, 'in:')).some((n) => n > 50)).toBe(true)
  })

  it('a body cut off mid-line: 400, its whole records counted, not the cut one; the retry counts nothing twice', async () => {
    const lines = records(4000, 4).filter((l) => l.startsWith('{"time":"2026'))
    const body = gzipSync(`${lines.join('\n')}\n`)
    const cut = body.subarray(0, Math.floor(body.length * 0.6))
    const before = (await fetch(`${base}/stats`).then((r) => r.json())) as { lines: { total: number } }
    const r = curl(`${base}/ingest`, ['-H', 'Content-Encoding: gzip', '--data-binary', `@${file('cut.gz', cut)}`])
    expect(r.status).toBe(400)
    expect(r.body.error).toMatch(/cut short/)
    const counted = r.body.lines as number
    expect(counted).toBeGreaterThan(0)
    expect(counted).toBeLessThan(lines.length)
    // Exactly the first `counted` records were read: none of them was the cut one.
    const after = (await fetch(`${base}/stats`).then((r) => r.json())) as { lines: { total: number; invalid: number } }
    expect(after.lines.total - before.lines.total).toBe(counted)
    expect(r.body.invalid).toEqual({})
    // The shipper retries the whole body: 200, and the registers are those of each record once.
    const again = curl(`${base}/ingest?sync=1`, ['-H', 'Content-Encoding: gzip', '--data-binary', `@${file('whole.gz', body)}`])
    expect(again.status).toBe(200)
    expect(again.body).toMatchObject(expected(lines))
    await pfaddReference(redis, Buffer.from(`${lines.join('\n')}\n`), 'ref:')
    expect(await pfcounts(redis, 'in:')).toEqual(await pfcounts(redis, 'ref:'))
  })

  it('a connection closed before its Content-Length: the whole lines count, the fragment does not', async () => {
    const [line] = records(1, 5).filter((l) => l.startsWith('{"time":"2026'))
    const payload = `${line}\n{"time":"2026-11-17 10:00:00","ip":"10.9.9.9","stat`
    const before = (await fetch(`${base}/stats`).then((r) => r.json())) as { lines: { total: number; invalid: number } }
    const logsBefore = server.logs.length // the server may log the cut before the socket's close reaches this test
    const { port } = new URL(base)
    await new Promise<void>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () => {
        socket.write(`POST /ingest HTTP/1.1\r\nHost: x\r\nContent-Length: ${payload.length + 500}\r\n\r\n${payload}`)
        socket.end()
      })
      socket.on('error', reject)
      socket.on('close', () => resolve())
      socket.resume()
    })
    const logged = await server.waitForLog((r) => r.msg.startsWith('POST /ingest') && /cut short/.test(r.msg), logsBefore)
    expect(logged.msg).toMatch(/: 400, the body was cut short: the connection closed before its end \(1 records, 1 counted\)$/)
    const after = (await fetch(`${base}/stats`).then((r) => r.json())) as typeof before
    expect(after.lines.total - before.lines.total).toBe(1)
    expect(after.lines.invalid).toBe(before.lines.invalid)
  })

  it('refuses what it does not take: 405, 415 (with the accepted list), 404 elsewhere', () => {
    expect(curl(`${base}/ingest`, []).status).toBe(405)
    const r = curl(`${base}/ingest`, ['-H', 'Content-Encoding: compress', '--data-binary', 'x'])
    expect(r.status).toBe(415)
    expect(r.body.error).toMatch(/accepted: identity, gzip, x-gzip, deflate, br/)
    expect(curl(`${base}/ingest-nope`, ['--data-binary', 'x']).status).toBe(404)
  })
})

describe.skipIf(missing('curl', CURL))('POST /ingest limits and token', () => {
  let server: ServerProcess
  let base: string
  beforeAll(async () => {
    server = await startServer(['--http', '127.0.0.1:0', '--max-body', '5000'], { LOGHOUR_INGEST_TOKEN: 's3cret-token' })
    const record = await server.waitForLog(message('HTTP endpoints'), 0)
    base = `http://127.0.0.1:${(record.http as { port: number }).port}`
  })
  afterAll(async () => {
    await server?.stop('SIGTERM')
  })

  const line = '{"time":"2026-11-17 10:00:00","ip":"10.0.0.1","status_code":500}\n'
  const auth = ['-H', 'Authorization: Bearer s3cret-token']

  it('401 without the token or with another; 200 with it', () => {
    expect(curl(`${base}/ingest`, ['--data-binary', line]).status).toBe(401)
    expect(curl(`${base}/ingest`, ['-H', 'Authorization: Bearer s3cret-tokeN', '--data-binary', line]).status).toBe(401)
    expect(curl(`${base}/ingest`, ['-H', 'Authorization: Basic czNjcmV0', '--data-binary', line]).status).toBe(401)
    const ok = curl(`${base}/ingest`, [...auth, '--data-binary', line])
    expect(ok.status).toBe(200)
    expect(ok.body).toMatchObject({ lines: 1, counted: 1, flushed: false })
  })

  it('a body of blank lines counts them as TCP would; whitespace before a batch still makes it a batch', () => {
    expect(curl(`${base}/ingest`, [...auth, '--data-binary', '\n\n\n']).body).toMatchObject({ lines: 0, blank: 3 })
    const batch = `  \n\t[${line.trim()},${line.trim()}]`
    expect(curl(`${base}/ingest`, [...auth, '--data-binary', batch]).body).toMatchObject({ lines: 2, counted: 2, blank: 0 })
  })

  it('413 when a chunk crosses --max-body: the whole records before the limit count, also in the first chunk', () => {
    const chunked = curl(`${base}/ingest`, [
      ...auth,
      '-H',
      'Transfer-Encoding: chunked',
      '--data-binary',
      `@${file('first', line.repeat(200))}`,
    ])
    expect(chunked.status).toBe(413)
    const whole = Math.floor(5000 / line.length)
    expect(chunked.body).toMatchObject({ lines: whole, counted: whole })
  })

  it('413 over --max-body: by Content-Length before reading, chunked or gzip-expanded while reading', () => {
    const big = line.repeat(200) // 13 KB
    expect(curl(`${base}/ingest`, [...auth, '--data-binary', big]).status).toBe(413)
    const chunked = curl(`${base}/ingest`, [...auth, '-H', 'Transfer-Encoding: chunked', '--data-binary', `@${file('big', big)}`])
    expect(chunked.status).toBe(413)
    expect(chunked.body.lines as number).toBeLessThanOrEqual(Math.ceil(5000 / line.length))
    const bomb = curl(`${base}/ingest`, [
      ...auth,
      '-H',
      'Content-Encoding: gzip',
      '--data-binary',
      `@${file('bomb.gz', gzipSync(line.repeat(2000)))}`,
    ])
    expect(bomb.status).toBe(413)
  })
})

const INGEST_DOC = readFileSync(join(ROOT, 'docs/ingest.md'), 'utf8')
const combined = [
  '127.0.0.4 - - [23/Nov/2026:09:15:00 -0500] "GET /e500 HTTP/1.1" 500 177 "-" "Mozilla/5.0 (X11; \\x22quoted\\x22 agent 1)"',
  '::1 - frank [23/Nov/2026:09:20:00 -0500] "GET /a\\"b HTTP/1.0" 503 2326 "-" "curl/8.5"',
  '127.0.0.4 - - [23/Nov/2026:09:21:00 -0500] "GET / HTTP/1.1" 200 612 "-" "curl/8.5"',
]
const vectorEvent = (line: string) => ({
  file: '/var/log/nginx/access.log',
  host: 'web1',
  message: line,
  source_type: 'file',
  timestamp: '2026-11-23T14:15:00.123456789Z',
})

/** What each shipper's HTTP output sends (a Monday, 2026-11-23 14:15 UTC = 09:15 in New York), and the answer. */
const SHIPPERS: Record<string, { bodies: { body: Buffer; headers: string[] }[]; hour: number; users: number; lines: number }> = {
  'fluent-bit-http': {
    // format json_lines, compress gzip: one record per line, the nginx parser's fields and `date`.
    bodies: [
      {
        body: gzipSync(
          '{"date":1795443300.123456,"remote":"10.0.0.1","host":"-","user":"-","method":"GET","path":"/","code":"502","size":"0","referer":"-","agent":"curl/8.5"}\n' +
            '{"date":1795443301.5,"remote":"10.0.0.2","host":"-","user":"-","method":"GET","path":"/","code":"200","size":"5","referer":"-","agent":"curl/8.5"}\n',
        ),
        headers: ['Content-Encoding: gzip', 'Content-Type: application/json'],
      },
    ],
    hour: 14,
    users: 1,
    lines: 2,
  },
  'vector-http': {
    // codec json with newline_delimited framing, and Vector's default (a JSON array), both gzip.
    bodies: [
      {
        body: gzipSync(
          `${combined
            .slice(0, 2)
            .map((l) => JSON.stringify(vectorEvent(l)))
            .join('\n')}\n`,
        ),
        headers: ['Content-Encoding: gzip'],
      },
      { body: gzipSync(JSON.stringify([vectorEvent(combined[2]!), vectorEvent(combined[0]!)])), headers: ['Content-Encoding: gzip'] },
    ],
    hour: 9,
    users: 2,
    lines: 4,
  },
  'logstash-http': {
    // format => json_batch, http_compression => true: one JSON array of events, gzip.
    bodies: [
      {
        body: gzipSync(
          '[{"@timestamp":"2026-11-23T14:15:01.000Z","@version":"1","timestamp":"23/Nov/2026:09:15:00 -0500","source":{"address":"10.0.0.1"},"http":{"response":{"status_code":503},"request":{"method":"GET"}}},' +
            '{"@timestamp":"2026-11-23T14:15:02.000Z","@version":"1","timestamp":"23/Nov/2026:09:15:01 -0500","source":{"address":"10.0.0.2"},"http":{"response":{"status_code":200}}}]',
        ),
        headers: ['Content-Encoding: gzip', 'Content-Type: application/json'],
      },
    ],
    hour: 9,
    users: 1,
    lines: 2,
  },
  'rsyslog-http': {
    // batch.format newline, compress on: the raw lines joined by "\n", no final newline.
    bodies: [{ body: gzipSync(combined.join('\n')), headers: ['Content-Encoding: gzip', 'Content-Type: text/plain'] }],
    hour: 9,
    users: 2,
    lines: 3,
  },
}

describe.skipIf(missing('curl', CURL))('docs/ingest.md "Recipes by shipper"', () => {
  it('has a tested recipe for every shipper, and only those', () => {
    const names = [...INGEST_DOC.matchAll(/<!-- ingest-recipe: ([a-z-]+) -->/g)].map((m) => m[1])
    expect(names.sort()).toEqual(Object.keys(SHIPPERS).sort())
  })

  it.each(Object.keys(SHIPPERS))('%s: the recipe counts what the shipper sends', async (name) => {
    const m = new RegExp(`<!-- ingest-recipe: ${name} --> \`loghour-server ([^\`]+)\``).exec(INGEST_DOC)
    const flags = m![1]!.split(/\s+/).map((w) => (w === '0.0.0.0:9464' ? '127.0.0.1:0' : w))
    const server = await startServer(flags, { LOGHOUR_INGEST_TOKEN: 'tok' })
    try {
      const record = await server.waitForLog(message('HTTP endpoints'), 0)
      const base = `http://127.0.0.1:${(record.http as { port: number }).port}`
      const shipper = SHIPPERS[name]!
      for (const [i, { body, headers }] of shipper.bodies.entries()) {
        const r = curl(`${base}/ingest`, [
          '-H',
          'Authorization: Bearer tok',
          ...headers.flatMap((h) => ['-H', h]),
          '--data-binary',
          `@${file(`${name}-${i}`, body)}`,
        ])
        expect(r.status, JSON.stringify(r.body)).toBe(200)
      }
      const stats = (await fetch(`${base}/stats`).then((r) => r.json())) as { hours: number[]; lines: { total: number; invalid: number } }
      expect(stats.lines).toMatchObject({ total: shipper.lines, invalid: 0 })
      expect(stats.hours[shipper.hour]).toBe(shipper.users)
      expect(stats.hours.reduce((a, b) => a + b, 0)).toBe(shipper.users)
      const metrics = await fetch(`${base}/metrics`).then((r) => r.text())
      expect(metrics).toContain(`loghour_ingest_requests_total{code="200"} ${shipper.bodies.length}`)
    } finally {
      await server.stop('SIGTERM')
    }
  })
})

describe.skipIf(missing('curl', CURL) || missing('openssl', spawnSync('openssl', ['version']).status === 0))(
  'POST /ingest over HTTPS',
  () => {
    it('--http-tls-cert/--http-tls-key serve every endpoint over HTTPS; plain HTTP is refused', async () => {
      const certificate = selfSignedCertificate()
      const server = await startServer([
        '--http',
        '127.0.0.1:0',
        '--http-tls-cert',
        certificate.certFile,
        '--http-tls-key',
        certificate.keyFile,
      ])
      try {
        const record = await server.waitForLog(message('HTTP endpoints'), 0)
        expect(record.msg).toMatch(/^HTTP endpoints on https:\/\/127\.0\.0\.1:\d+\//)
        const { port } = record.http as { port: number }
        const line = '{"time":"2026-11-17 10:00:00","ip":"10.0.0.1","status_code":500}\n'
        const ok = curl(`https://127.0.0.1:${port}/ingest`, ['--cacert', certificate.certFile, '--data-binary', line])
        expect(ok).toMatchObject({ status: 200, body: { lines: 1, counted: 1 } })
        const plain = spawnSync(
          'curl',
          ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '--data-binary', line, `http://127.0.0.1:${port}/ingest`],
          { encoding: 'utf8' },
        )
        expect(plain.stdout).not.toBe('200')
        const stats = curl(`https://127.0.0.1:${port}/stats`, ['--cacert', certificate.certFile])
        expect((stats.body.lines as { total: number }).total).toBe(1)
      } finally {
        await server.stop('SIGTERM')
      }
    })

    it('refuses half a certificate, or one without --http (exit 2, one line)', async () => {
      const certificate = selfSignedCertificate()
      await expect(startServer(['--http', '127.0.0.1:0', '--http-tls-cert', certificate.certFile])).rejects.toThrow(
        /--http-tls-cert needs its pair \(--http-tls-cert with --http-tls-key\)/,
      )
      await expect(startServer(['--http-tls-cert', certificate.certFile, '--http-tls-key', certificate.keyFile])).rejects.toThrow(
        /--http-tls-cert applies to the HTTP endpoints; add --http HOST:PORT/,
      )
    })
  },
)

// What each answer promises (docs/ingest.md "What an answer guarantees"), shown with
// kill -9 right after it: only "flushed": true outlives the process.
describe.skipIf(skipRedis() || missing('curl', CURL))('POST /ingest acknowledgements and kill -9', () => {
  const body = records(400, 7).join('\n')
  const model = modelStream(Buffer.from(`${body}\n`), 65536, INVALID_REASONS)
  const httpBase = async (server: ServerProcess) =>
    `http://127.0.0.1:${((await server.waitForLog(message('HTTP endpoints'), 0)).http as { port: number }).port}`

  it('Redis: ?sync=1 is in Redis when it answers; the default 200 is only counted (lost with a kill -9 before the next flush)', async () => {
    const redis = await startRedis()
    try {
      const server = await startServer([
        '--http',
        '127.0.0.1:0',
        '--redis',
        redis.url,
        '--key-prefix',
        'ack:',
        '--flush-interval',
        '600000',
      ])
      const base = await httpBase(server)
      const counted = curl(`${base}/ingest`, ['--data-binary', body])
      expect(counted.body).toMatchObject({ counted: model.lines.counted, flushed: false })
      await server.stop('SIGKILL')
      expect((await pfcounts(redis, 'ack:')).every((n) => n === 0)).toBe(true) // as the table says: not stored yet
      const again = await startServer(['--http', '127.0.0.1:0', '--redis', redis.url, '--key-prefix', 'ack:', '--flush-interval', '600000'])
      const stored = curl(`${await httpBase(again)}/ingest?sync=1`, ['--data-binary', body])
      expect(stored.body).toMatchObject({ counted: model.lines.counted, flushed: true })
      await again.stop('SIGKILL')
      await pfaddReference(redis, Buffer.from(`${body}\n`), 'ref:')
      expect(await pfcounts(redis, 'ack:')).toEqual(await pfcounts(redis, 'ref:'))
    } finally {
      await redis.stop()
    }
  })

  it('memory: ?sync=1 writes the snapshot before it answers; without a snapshot nothing is "flushed"', async () => {
    const snapshot = join(dir, 'ack.snap')
    const server = await startServer(['--http', '127.0.0.1:0', '--snapshot', snapshot, '--flush-interval', '600000'])
    const stored = curl(`${await httpBase(server)}/ingest?sync=1`, ['--data-binary', body])
    expect(stored.body).toMatchObject({ counted: model.lines.counted, flushed: true })
    await server.stop('SIGKILL')
    const restored = await startServer(['--http', '127.0.0.1:0', '--snapshot', snapshot])
    const stats = JSON.parse(spawnSync('curl', ['-sS', `${await httpBase(restored)}/stats`], { encoding: 'utf8' }).stdout)
    const reference = createConsumer()
    reference.end(`${body}\n`)
    expect(stats.hours).toEqual((await reference.stats()).hours)

    const plain = await startServer(['--http', '127.0.0.1:0'])
    expect(curl(`${await httpBase(plain)}/ingest?sync=1`, ['--data-binary', body]).body).toMatchObject({ flushed: false })
    await expect(startServer(['--http', '127.0.0.1:0', '--ingest-ack', 'flushed'])).rejects.toThrow(
      /invalid combination: --ingest-ack flushed promises what outlives the process, but the memory store without --snapshot keeps nothing/,
    )
  })
})
