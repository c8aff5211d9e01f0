// OTLP/gRPC and /v1/logs against what a client may send: TLS with the TCP input's certificate
// (the Node and Python SDKs' gRPC exporters checking it against its authority; a client without the
// required certificate refused), and raw HTTP/2 calls that are wrong in every way a unary gRPC call
// can be (unknown method, another content type, no token, two messages, a message over the limit,
// a gzip bomb, an unknown compression), answered with the right grpc-status; random bytes as
// messages, over gRPC and POST /v1/logs, never stop the server nor count anything when refused.
import { readFileSync } from 'node:fs'
import { gzipSync } from 'node:zlib'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { grpcFrame as frame, otelPython, grpcCall as rawCall, runOtlpApp } from './helpers/otel.js'
import { skipRedis } from './helpers/redis.js'
import { httpBase, message, type ServerProcess, startServer } from './helpers/server.js'
import { certificateAuthority } from './helpers/tls.js'
import { missing } from './helpers/tools.js'

const TOKEN = 'grpc-token'

/** A call with the token, unless `headers` say otherwise. */
const call = (port: number, frames: Buffer[], headers: Record<string, string> = {}) =>
  rawCall(port, frames, { authorization: `Bearer ${TOKEN}`, ...headers })

const grpcPort = async (server: ServerProcess) =>
  ((await server.waitForLog(message('OTLP/gRPC logs on'), 0)).otlpGrpc as { port: number }).port

/** A valid request of one record: a 503 from `ip`, Monday 2019-05-06 17:25:54 UTC, written by hand. */
function oneRecord(ip: string): Buffer {
  const len = (n: number, b: Buffer) => Buffer.concat([Buffer.from([(n << 3) | 2, b.length]), b])
  const kv = (key: string, value: Buffer) => len(6, Buffer.concat([len(1, Buffer.from(key)), len(2, value)]))
  const time = Buffer.alloc(9)
  time[0] = (1 << 3) | 1
  time.writeBigUInt64LE(1_557_163_554_000_000_000n, 1)
  const record = Buffer.concat([
    time,
    kv('http.response.status_code', Buffer.from([3 << 3, 0xf7, 0x03])), // intValue 503
    kv('client.address', len(1, Buffer.from(ip))),
  ])
  return len(1, len(2, len(2, record)))
}

type Stats = { lines: { total: number }; hours: number[] }

describe.skipIf(
  skipRedis() || missing('the OpenTelemetry Python SDK (bash .ci/run makes its virtual environment)', otelPython() !== undefined),
)('OTLP/gRPC: TLS, and calls that are wrong', () => {
  it('serves TLS with the TCP input certificate: both SDKs check it against its authority; a client certificate when required', async () => {
    const ca = certificateAuthority()
    const cert = ca.issue('loghour')
    const server = await startServer([
      '--tls-cert',
      cert.certFile,
      '--tls-key',
      cert.keyFile,
      '--http',
      '127.0.0.1:0',
      '--otlp-grpc',
      '127.0.0.1:0',
    ])
    const http = await httpBase(server)
    const url = `https://localhost:${await grpcPort(server)}`
    const records = [
      { timeUnixNano: '1557163554000000000', attributes: { 'http.response.status_code': 503, 'client.address': '10.7.0.1' } },
    ]
    expect(await runOtlpApp('node', { protocol: 'grpc', url, ca: ca.cert, resource: {}, records })).toEqual({ ok: true })
    const python = {
      protocol: 'grpc' as const,
      url,
      ca: ca.cert,
      resource: {},
      records: [{ ...records[0]!, attributes: { ...records[0]!.attributes, 'client.address': '10.7.0.2' } }],
    }
    expect(await runOtlpApp('python', python)).toEqual({ ok: true })
    // An authority that did not sign it: the exporter refuses the server.
    const other = certificateAuthority('another CA')
    expect((await runOtlpApp('node', { protocol: 'grpc', url, ca: other.cert, resource: {}, records, timeoutMillis: 3000 })).ok).toBe(false)
    const stats = (await (await fetch(`${http}/stats`)).json()) as Stats
    expect(stats.hours[17]).toBe(2)
    await server.stop()

    // --tls-client-auth: an exporter without a client certificate is refused at the handshake.
    const mutual = await startServer([
      ...['--tls-cert', cert.certFile, '--tls-key', cert.keyFile, '--tls-ca', ca.certFile, '--tls-client-auth'],
      ...['--otlp-grpc', '127.0.0.1:0'],
    ])
    const mutualUrl = `https://localhost:${await grpcPort(mutual)}`
    const refused = await runOtlpApp('python', { ...python, url: mutualUrl, timeoutMillis: 3000 })
    expect(refused.ok).toBe(false)
    const client = ca.issue('exporter')
    const accepted = { ...python, url: mutualUrl, clientCert: client.cert, clientKey: readFileSync(client.keyFile, 'utf8') }
    expect(await runOtlpApp('python', accepted)).toEqual({ ok: true })
  })

  it('answers wrong calls with their grpc-status, and random bytes never stop it nor count when refused', async () => {
    const server = await startServer([
      ...['--http', '127.0.0.1:0', '--otlp-grpc', '127.0.0.1:0', '--ingest-token', TOKEN, '--max-body', String(1 << 20)],
    ])
    const http = await httpBase(server)
    const port = await grpcPort(server)
    const stats = async () => (await (await fetch(`${http}/stats`)).json()) as Stats

    expect(await call(port, [frame(oneRecord('10.8.0.1'))])).toEqual({ status: '0', message: undefined })
    expect(
      (await call(port, [frame(oneRecord('10.8.0.2'))], { ':path': '/opentelemetry.proto.collector.trace.v1.TraceService/Export' })).status,
    ).toBe('12')
    expect((await call(port, [frame(oneRecord('10.8.0.3'))], { 'content-type': 'application/json' })).status).toBe('3')
    expect((await call(port, [frame(oneRecord('10.8.0.4'))], { authorization: 'Bearer wrong' })).status).toBe('16')
    expect((await call(port, [frame(oneRecord('10.8.0.5')), frame(oneRecord('10.8.0.6'))])).status).toBe('3')
    expect((await call(port, [frame(oneRecord('10.8.0.7'), false, 2 << 20)])).status).toBe('8') // declared over --max-body
    expect((await call(port, [frame(oneRecord('10.8.0.8')).subarray(0, 12)])).status).toBe('3') // ends inside its message
    const bomb = gzipSync(Buffer.alloc(64 << 20)) // 64 MiB of zeros in ~64 KiB
    const rss = server.rss()
    const exploded = await call(port, [frame(bomb, true)], { 'grpc-encoding': 'gzip' })
    expect(exploded).toMatchObject({ status: '8', message: expect.stringMatching(/over the limit of 1048576 decoded bytes/) })
    expect(server.rss() - rss).toBeLessThan(32 << 20) // decoding stopped at the limit
    expect((await call(port, [frame(oneRecord('10.8.0.9'), true)], { 'grpc-encoding': 'snappy' })).status).toBe('12')
    expect((await call(port, [frame(gzipSync(oneRecord('10.8.0.10')), true)], { 'grpc-encoding': 'gzip' })).status).toBe('0')
    const counted = await stats()
    expect(counted.hours[17]).toBe(2) // 10.8.0.1 and 10.8.0.10
    expect(counted.lines.total).toBe(2)

    // Random bytes as a message, and as a POST /v1/logs body: answered OK or INVALID_ARGUMENT
    // (200 or 400), never anything else; nothing refused is counted, and the server goes on.
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), async (bytes) => {
        const before = (await stats()).lines.total
        const body = Buffer.from(bytes)
        const grpc = await call(port, [frame(body)])
        expect(['0', '3']).toContain(grpc.status)
        const answer = await fetch(`${http}/v1/logs`, {
          method: 'POST',
          body,
          headers: { 'content-type': 'application/x-protobuf', authorization: `Bearer ${TOKEN}` },
        })
        expect([200, 400]).toContain(answer.status)
        await answer.arrayBuffer()
        if (grpc.status === '3' && answer.status === 400) expect((await stats()).lines.total).toBe(before)
      }),
      { numRuns: 150 },
    )
    expect(await call(port, [frame(oneRecord('10.8.0.11'))])).toEqual({ status: '0', message: undefined })
    expect((await stats()).hours[17]).toBe(3)
  })
})
