// The --http listener cannot be starved or blown up: hundreds of clients trickling headers, or
// never finishing a TLS handshake, leave /healthz and POST /ingest answering at once and are cut
// within seconds; a body that stops arriving is cut (408) with its whole records counted; and
// compressed bodies that never finish cost bounded memory (their decoders' windows are charged to
// one budget; beyond it, 503 with Retry-After).
import { spawnSync } from 'node:child_process'
import { connect, type Socket } from 'node:net'
import { brotliCompressSync, constants } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { brotliWindowBytes, DECODER_BUDGET_BYTES } from '../src/body-decoders.js'
import { message, type ServerProcess, startServer } from './helpers/server.js'
import { type Certificate, selfSignedCertificate } from './helpers/tls.js'
import { missing } from './helpers/tools.js'

const CURL = spawnSync('curl', ['--version']).status === 0
const RECORD = '{"time":"2026-11-23 09:15:00","ip":"10.7.7.7","status_code":503}\n'

async function withHttp(args: string[] = [], cert?: Certificate): Promise<{ server: ServerProcess; port: number; base: string }> {
  const tls = cert ? ['--http-tls-cert', cert.certFile, '--http-tls-key', cert.keyFile] : []
  const server = await startServer(['--http', '127.0.0.1:0', ...tls, ...args])
  const { port, scheme } = (await server.waitForLog(message('HTTP endpoints'), 0)).http as { port: number; scheme: string }
  return { server, port, base: `${scheme}://127.0.0.1:${port}` }
}

/** curl's status for one request on a new connection, or 0 when it got no answer within 5 s. */
function status(base: string, path: string, cert?: Certificate, args: string[] = []): number {
  const ca = cert ? ['--cacert', cert.certFile] : []
  const r = spawnSync('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '5', ...ca, ...args, `${base}${path}`], {
    encoding: 'utf8',
  })
  return Number(r.stdout) || 0
}

/** `n` raw connections, each sent `head` (maybe nothing) and then left alone. */
async function park(port: number, n: number, head: string): Promise<{ sockets: Socket[]; closed: Promise<void> }> {
  const sockets: Socket[] = []
  const closings: Promise<void>[] = []
  for (let i = 0; i < n; i++) {
    const socket = connect({ port, host: '127.0.0.1' })
    socket.on('error', () => {})
    socket.resume() // read the server's answer (a 408) and its end, or 'close' never comes
    closings.push(new Promise((resolve) => socket.once('close', () => resolve())))
    await new Promise((resolve) => socket.once('connect', resolve))
    if (head) socket.write(head)
    sockets.push(socket)
  }
  return { sockets, closed: Promise.all(closings).then(() => {}) }
}

/** Resolves with how long `promise` took; rejects after `ms`. */
async function within(promise: Promise<unknown>, ms: number, what: string): Promise<number> {
  const started = Date.now()
  let timer: NodeJS.Timeout | undefined
  await Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)
    }),
  ]).finally(() => clearTimeout(timer))
  return Date.now() - started
}

describe.skipIf(missing('curl', CURL))('the --http listener under slow clients', () => {
  it('300 clients trickling headers: /healthz and POST /ingest answer at once, and the tricklers are cut within seconds', async () => {
    const { port, base } = await withHttp()
    const { sockets, closed } = await park(port, 300, 'GET /healthz HTTP/1.1\r\nHost: x\r\n')
    for (let i = 0; i < 10; i++) expect(status(base, '/healthz'), `probe ${i}`).toBe(200)
    expect(status(base, '/readyz')).toBe(200)
    expect(status(base, '/ingest', undefined, ['--data-binary', RECORD])).toBe(200)
    // Node's 30 s headers check would leave them for half a minute: 5 s, checked every second.
    await within(closed, 15_000, 'the trickling connections cut')
    for (const s of sockets) s.destroy()
  })

  it('300 TLS clients that never finish their handshake: /healthz still answers, and they are cut within seconds', async () => {
    const cert = selfSignedCertificate()
    const { port, base } = await withHttp([], cert)
    const { closed } = await park(port, 300, '')
    for (let i = 0; i < 10; i++) expect(status(base, '/healthz', cert), `probe ${i}`).toBe(200)
    await within(closed, 15_000, 'the stalled handshakes cut')
  })

  it('a body that stops arriving is cut with 408, its whole records counted, its connection freed', async () => {
    const { port, base } = await withHttp()
    const socket = connect({ port, host: '127.0.0.1' })
    let answer = ''
    socket.on('data', (d: Buffer) => (answer += d.toString()))
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
    await new Promise((resolve) => socket.once('connect', resolve))
    const chunk = `${RECORD}{"time":"2026-11-23 09:1`
    socket.write(`POST /ingest HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${chunk.length.toString(16)}\r\n${chunk}\r\n`)
    await within(closed, 20_000, 'the stalled body cut') // then nothing more: a trickle of zero bytes
    expect(answer).toMatch(/^HTTP\/1\.1 408 /)
    expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toMatchObject({ lines: 1, counted: 1 })
    const stats = (await (await fetch(`${base}/stats`)).json()) as { lines: { counted: number; invalid: number } }
    expect(stats.lines).toMatchObject({ counted: 1, invalid: 0 }) // the cut record is not a record
  })

  it('63 never-finished brotli bodies with 16 MiB windows: memory bounded by the decoder budget, the rest 503 with Retry-After', async () => {
    const { server, port, base } = await withHttp()
    // The start of a 15 MiB body compressed with a 16 MiB window: 9.5 KB that make a decoder take 16 MiB.
    const lines: string[] = []
    for (let i = 0; lines.length * 70 < 15 << 20; i++)
      lines.push(`{"time":"2026-11-23 09:15:00","ip":"10.${i >> 16}.${(i >> 8) & 255}.${i & 255}","status_code":503}`)
    const whole = brotliCompressSync(`${lines.join('\n')}\n`, {
      params: { [constants.BROTLI_PARAM_LGWIN]: 24, [constants.BROTLI_PARAM_QUALITY]: 5 },
    })
    expect(brotliWindowBytes(whole[0]!)).toBe(16 << 20)
    const start = whole.subarray(0, 9500)
    const before = server.rss()
    const answers: Promise<string>[] = []
    const sockets: Socket[] = []
    for (let i = 0; i < 63; i++) {
      const socket = connect({ port, host: '127.0.0.1' })
      socket.on('error', () => {})
      sockets.push(socket)
      answers.push(
        new Promise((resolve) => {
          let text = ''
          socket.on('data', (d: Buffer) => (text += d.toString()))
          socket.once('close', () => resolve(text))
          // The ones still decoding never answer: their sockets are closed below, answering ''.
        }),
      )
      await new Promise((resolve) => socket.once('connect', resolve))
      socket.write(`POST /ingest HTTP/1.1\r\nHost: x\r\nContent-Encoding: br\r\nContent-Length: ${whole.length}\r\n\r\n`)
      socket.write(start)
    }
    // Every one was either refused or is being decoded: the budget fits three 16 MiB windows.
    const decoding = Math.floor(DECODER_BUDGET_BYTES / ((16 << 20) + (64 << 10)))
    await within(
      (async () => {
        for (;;) {
          const metrics = await (await fetch(`${base}/metrics`)).text()
          const refused = Number(/loghour_ingest_requests_total\{code="503"\} (\d+)/.exec(metrics)?.[1] ?? 0)
          if (refused === 63 - decoding) return
          await new Promise((r) => setTimeout(r, 50))
        }
      })(),
      20_000,
      'the bodies over the budget refused',
    )
    const grown = server.rss() - before
    expect(grown, `RSS grew by ${(grown / 2 ** 20).toFixed(0)} MiB`).toBeLessThan(DECODER_BUDGET_BYTES + (64 << 20))
    for (const s of sockets) s.destroy()
    const texts = await Promise.all(answers)
    const refused = texts.filter((t) => t.startsWith('HTTP/1.1 503'))
    expect(refused).toHaveLength(63 - decoding)
    expect(refused.every((t) => /\r\nretry-after: 1\r\n/i.test(t))).toBe(true)
    // The budget comes back with the connections: a whole brotli body is read again.
    const small = brotliCompressSync(RECORD, { params: { [constants.BROTLI_PARAM_LGWIN]: 24 } })
    let code = 0
    for (let i = 0; i < 100 && code !== 200; i++) {
      code = (await fetch(`${base}/ingest`, { method: 'POST', body: small, headers: { 'content-encoding': 'br' } })).status
      if (code !== 200) await new Promise((r) => setTimeout(r, 50))
    }
    expect(code).toBe(200)
  })
})
