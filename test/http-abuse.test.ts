// Nothing a client sends to the --http listener ends the process or changes what was counted:
// malformed request lines, targets, methods, headers and bodies over raw sockets, on HTTP and
// HTTPS, followed by the same answers as before. (One request target used to end the process.)
import { spawnSync } from 'node:child_process'
import { connect, type Socket } from 'node:net'
import { connect as connectTls } from 'node:tls'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { message, type ServerProcess, startServer } from './helpers/server.js'
import { type Certificate, selfSignedCertificate } from './helpers/tls.js'
import { missing } from './helpers/tools.js'

const CURL = spawnSync('curl', ['--version']).status === 0
const TOKEN = 'abuse-test-token'

/** Targets that once ended the process, and their kin. */
const HOSTILE_TARGETS = [
  'http://[',
  '//[',
  'http://a:99999/',
  'https://[::1',
  'http://a b/',
  '//',
  '*',
  'x',
  '/%',
  '/ingest?sync=%zz',
  '/ingest#',
]

const METHODS = ['GET', 'POST', 'HEAD', 'PUT', 'OPTIONS', 'CONNECT', 'PRI', 'get', 'G E T', '', 'POST\x00', '\xff\xfe']
const VERSIONS = ['HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/9.9', 'HTTP/1.1x', 'http/1.1', '']
const HEADERS = [
  'Host: x',
  'Host: x\r\nHost: y',
  'Content-Length: -1',
  'Content-Length: 99999999999999999999999',
  'Content-Length: 5\r\nContent-Length: 6',
  'Content-Length: 3',
  'Transfer-Encoding: chunked',
  'Transfer-Encoding: chunked, identity',
  'Transfer-Encoding: gzip',
  'Content-Encoding: gzip',
  'Content-Encoding: br',
  'Content-Encoding: zstd',
  'Content-Encoding: gzip, br',
  'Content-Encoding: \xff',
  `Authorization: Bearer ${TOKEN}x`,
  'Authorization: Bearer \u00e9',
  'Authorization: Basic Zm9vOmJhcg==',
  'Origin: https://evil.example',
  'Expect: 100-continue',
  'Connection: upgrade\r\nUpgrade: websocket',
  'no colon here',
  ': empty name',
  `X-Long: ${'a'.repeat(20_000)}`,
  'X-Nul: a\x00b',
  ' folded: continuation',
]

/** Mostly `usual`, sometimes anything of `hostile`: each part of a request is well-formed often enough for the next to be reached. */
const mostly = <T>(usual: fc.Arbitrary<T>, hostile: fc.Arbitrary<T>) =>
  fc.oneof({ arbitrary: usual, weight: 4 }, { arbitrary: hostile, weight: 1 })

/** One raw request: a request line, some headers, and a body of any bytes. */
const request = fc
  .record({
    method: mostly(fc.constantFrom('GET', 'POST', 'HEAD'), fc.oneof(fc.constantFrom(...METHODS), fc.string({ maxLength: 12 }))),
    target: fc.oneof(
      fc.constantFrom(...HOSTILE_TARGETS),
      fc.constantFrom('/', '/ingest', '/healthz', '/stats', '/metrics', '/events', '/readyz', '/ingest?sync=1'),
      fc.string({ maxLength: 40 }),
      fc.string({ maxLength: 40 }).map((s) => `/${s}`),
      fc.webUrl({ withQueryParameters: true, withFragments: true }),
    ),
    version: mostly(fc.constantFrom('HTTP/1.1', 'HTTP/1.0'), fc.constantFrom(...VERSIONS)),
    headers: fc.array(mostly(fc.constantFrom(...HEADERS), fc.string({ maxLength: 60 })), { maxLength: 5 }),
    body: fc.oneof(fc.uint8Array({ maxLength: 3000 }), fc.constantFrom(new Uint8Array(), Buffer.from('0\r\n\r\n'), Buffer.from('zz\r\n'))),
    lineEnd: mostly(fc.constant('\r\n'), fc.constantFrom('\n', '\r')),
  })
  .map(({ method, target, version, headers, body, lineEnd }) =>
    Buffer.concat([Buffer.from(`${method} ${target} ${version}${lineEnd}${headers.join(lineEnd)}${lineEnd}${lineEnd}`, 'latin1'), body]),
  )

/** Sends `bytes` on a fresh connection, half-closes, and resolves once the connection is gone. */
function throwAt(port: number, bytes: Buffer, cert: Certificate | undefined): Promise<void> {
  return new Promise((resolve) => {
    const socket: Socket = cert
      ? connectTls({ port, host: '127.0.0.1', ca: cert.cert, servername: 'localhost' })
      : connect({ port, host: '127.0.0.1' })
    // A listener that keeps a connection open longer than this is not what this test is about.
    const timer = setTimeout(() => socket.destroy(), 15_000)
    socket.on('error', () => {})
    socket.on('close', () => {
      clearTimeout(timer)
      resolve()
    })
    socket.once(cert ? 'secureConnect' : 'connect', () => socket.end(bytes))
    socket.resume()
  })
}

interface Stats {
  hours: number[]
  lines: { total: number; counted: number }
}

async function startWithHttp(cert: Certificate | undefined): Promise<{ server: ServerProcess; base: string }> {
  const tls = cert ? ['--http-tls-cert', cert.certFile, '--http-tls-key', cert.keyFile] : []
  const server = await startServer(['--http', '127.0.0.1:0', '--ingest-token', TOKEN, ...tls])
  const { port, scheme } = (await server.waitForLog(message('HTTP endpoints'), 0)).http as { port: number; scheme: string }
  return { server, base: `${scheme}://127.0.0.1:${port}` }
}

describe.skipIf(missing('curl', CURL))('the --http listener under malformed requests', () => {
  const curl = (base: string, cert: Certificate | undefined, args: string[], path = '/') =>
    spawnSync('curl', ['-sS', '-o', '-', '-w', '\n%{http_code}', ...(cert ? ['--cacert', cert.certFile] : []), ...args, `${base}${path}`], {
      encoding: 'utf8',
    })
  const code = (r: ReturnType<typeof spawnSync>) => Number(String(r.stdout).trimEnd().split('\n').pop())

  describe.each([
    ['HTTP', undefined],
    ['HTTPS', selfSignedCertificate()],
  ])('%s', (_, cert) => {
    it('answers 400 to targets that are no URL, and everything goes on', async () => {
      const { server, base } = await startWithHttp(cert)
      for (const target of ['http://[', '//[', 'http://a:99999/']) {
        expect(code(curl(base, cert, ['--request-target', target])), target).toBe(400)
      }
      expect(code(curl(base, cert, [], '/healthz'))).toBe(200)
      expect(server.child.exitCode).toBe(null)
    })

    it('survives hundreds of malformed requests with its counts intact', async () => {
      const { server, base } = await startWithHttp(cert)
      const body = [
        '{"time":"2026-11-23 09:15:00","ip":"10.0.0.1","status_code":503}',
        '{"time":"2026-11-24 09:45:00","ip":"10.0.0.2","status_code":500}',
        '{"time":"2026-11-25 17:00:00","ip":"10.0.0.3","status_code":502}',
      ].join('\n')
      const ingest = curl(base, cert, ['-H', `Authorization: Bearer ${TOKEN}`, '--data-binary', body], '/ingest')
      expect(code(ingest)).toBe(200)
      const stats = () =>
        JSON.parse(
          String(curl(base, cert, [], '/stats').stdout)
            .trimEnd()
            .split('\n')[0]!,
        ) as Stats
      const before = stats()
      expect(before.lines.counted).toBe(3)
      const samples = fc.sample(request, { numRuns: 600, seed: 20261202 })
      for (let i = 0; i < samples.length; i += 16) {
        await Promise.all(samples.slice(i, i + 16).map((bytes) => throwAt(Number(new URL(base).port), bytes, cert)))
      }
      expect(server.child.exitCode, server.stderr()).toBe(null)
      expect(code(curl(base, cert, [], '/healthz'))).toBe(200)
      // Without the token, no request could count anything: the counts are exactly as before.
      expect(stats()).toEqual(before)
      expect(server.stderr()).toBe('')
    })
  })
})
