// OTLP/gRPC (`--otlp-grpc`): the LogsService/Export method over Node's own HTTP/2, unary gRPC
// written by hand (a 5-byte prefix per message, the status in trailers), so no gRPC library is
// loaded, and only by loghour-server with the setting. Each call is one OTLP message counted
// like a `POST /v1/logs` body: the same token, size limit, budgets, mapping and acknowledgement.
import {
  constants,
  createSecureServer,
  createServer,
  type Http2SecureServer,
  type Http2Server,
  type Http2Session,
  type IncomingHttpHeaders,
  type ServerHttp2Stream,
} from 'node:http2'
import type { AddressInfo } from 'node:net'
import zlib from 'node:zlib'
import type { LogConsumer } from './consumer.js'
import { acknowledge, authorized, BodyRefused, type IngestLimits, type IngestOptions, type IngestSummary } from './ingest.js'
import { otlpExportResponse } from './native.js'
import { grpcCodeOf, OtlpBody, rejectionOf } from './otlp.js'
import type { HttpAddress, InputTls } from './settings.js'

/** The one method served. */
export const OTLP_LOGS_EXPORT = '/opentelemetry.proto.collector.logs.v1.LogsService/Export'

/** A call must be whole within this (a client's deadline is usually shorter). */
const CALL_TIMEOUT_MS = 60_000
/** A connection with no call for this long is closed. */
const IDLE_TIMEOUT_MS = 120_000
/** Calls one connection may have open at once (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS). */
const MAX_CONCURRENT_CALLS = 16

/** A running OTLP/gRPC listener. */
export interface OtlpGrpcServer {
  readonly address: AddressInfo
  /** Swaps the TLS certificate: new connections use it. */
  reloadTls(tls: InputTls): void
  /** Stops listening and closes its connections. */
  close(): Promise<void>
}

/** gRPC's percent-encoding of `grpc-message` (printable ASCII but `%` as is). */
const grpcMessage = (text: string) => text.replace(/[^\x20-\x24\x26-\x7e]/gu, (c) => encodeURIComponent(c))

/**
 * Serves OTLP/gRPC logs on `address` (h2c, or TLS with `tls`, client certificates required with its `clientAuth`).
 * @example
 * const grpc = await startOtlpGrpc(consumer, { host: '127.0.0.1', port: 4317 }, ingest, limits)
 */
export async function startOtlpGrpc(
  consumer: LogConsumer,
  address: HttpAddress,
  options: IngestOptions,
  limits: IngestLimits,
  tls?: InputTls,
): Promise<OtlpGrpcServer> {
  const settings = { maxConcurrentStreams: MAX_CONCURRENT_CALLS }
  const server: Http2Server | Http2SecureServer = tls
    ? createSecureServer({
        cert: tls.cert,
        key: tls.key,
        ...(tls.ca === undefined ? {} : { ca: tls.ca }),
        ...(tls.clientAuth ? { requestCert: true, rejectUnauthorized: true } : {}),
        settings,
      })
    : createServer({ settings })
  const sessions = new Set<Http2Session>()
  server.on('session', (session: Http2Session) => {
    sessions.add(session)
    session.once('close', () => sessions.delete(session))
    session.setTimeout(IDLE_TIMEOUT_MS, () => session.close())
    session.on('error', () => session.destroy())
  })
  server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
    stream.on('error', () => {}) // a reset call is the client's business
    try {
      exportCall(consumer, options, limits, stream, headers)
    } catch (error) {
      if (!stream.destroyed) stream.close(constants.NGHTTP2_INTERNAL_ERROR)
      options.onRequest?.({ endpoint: 'grpc', status: 500, remote: remoteOf(stream), error: (error as Error).message })
    }
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(address.port, address.host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  return {
    address: server.address() as AddressInfo,
    reloadTls: (next) => {
      if (!tls) throw new Error('OTLP/gRPC is served without TLS')
      ;(server as Http2SecureServer).setSecureContext({ cert: next.cert, key: next.key, ...(next.ca === undefined ? {} : { ca: next.ca }) })
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        for (const session of sessions) session.close()
      }),
  }
}

const remoteOf = (stream: ServerHttp2Stream) => {
  const socket = stream.session?.socket
  return `${socket?.remoteAddress ?? '?'}:${socket?.remotePort ?? '?'}`
}

/** One Export call: its message read whole, counted, answered. */
function exportCall(
  consumer: LogConsumer,
  options: IngestOptions,
  limits: IngestLimits,
  stream: ServerHttp2Stream,
  headers: IncomingHttpHeaders,
): void {
  const remote = remoteOf(stream)
  let answered = false
  // Trailers-only: a call refused or failed.
  const fail = (httpStatus: number, error: string, summary?: IngestSummary, code = grpcCodeOf(httpStatus)) => {
    if (answered) return
    answered = true
    options.onRequest?.({ endpoint: 'grpc', status: httpStatus, remote, error, ...(summary ? { summary } : {}) })
    if (stream.destroyed || stream.closed) return
    if (stream.headersSent) {
      stream.close(constants.NGHTTP2_CANCEL)
      return
    }
    stream.respond(
      {
        ':status': 200,
        'content-type': 'application/grpc',
        'grpc-status': String(code),
        'grpc-message': grpcMessage(error),
        ...(code === 12 ? { 'grpc-accept-encoding': 'gzip,deflate,identity' } : {}),
      },
      { endStream: true },
    )
  }
  if (headers[':method'] !== 'POST' || headers[':path'] !== OTLP_LOGS_EXPORT) {
    answered = true
    if (!stream.destroyed) {
      stream.respond(
        {
          ':status': 200,
          'content-type': 'application/grpc',
          'grpc-status': '12',
          'grpc-message': grpcMessage(`unknown method ${headers[':path']}; served: ${OTLP_LOGS_EXPORT}`),
        },
        { endStream: true },
      )
    }
    return
  }
  if (!String(headers['content-type'] ?? '').startsWith('application/grpc')) {
    fail(415, 'a gRPC call is application/grpc')
    return
  }
  if (options.token !== undefined && !authorized(headers.authorization, options.token)) {
    fail(401, 'a bearer token is required (metadata authorization: Bearer …)')
    return
  }
  const release = limits.bodies.take()
  if (release === undefined) {
    fail(503, `${limits.bodies.limit} bodies are being read; retry`)
    return
  }
  const kind = new OtlpBody(consumer, 'protobuf', limits)
  stream.once('close', () => {
    release()
    kind.discard()
  })
  const timer = setTimeout(() => fail(408, `the call was not whole within ${CALL_TIMEOUT_MS / 1000} s`), CALL_TIMEOUT_MS)
  timer.unref()
  stream.once('close', () => clearTimeout(timer))
  // The frame: a compressed flag, a 4-byte length, the message; one message per unary call.
  let received = 0
  let frame: { compressed: boolean; length: number } | undefined
  const head: Buffer[] = []
  stream.on('data', (chunk: Buffer) => {
    if (answered) return
    received += chunk.length
    if (frame === undefined) {
      head.push(chunk)
      const bytes = Buffer.concat(head)
      if (bytes.length < 5) return
      frame = { compressed: bytes[0] === 1, length: bytes.readUInt32BE(1) }
      if (frame.length > options.maxBodyBytes) {
        return fail(413, `the message (${frame.length} bytes) is over the limit of ${options.maxBodyBytes} bytes (--max-body)`)
      }
      chunk = bytes.subarray(5)
    }
    if (received - 5 > frame.length) return fail(400, 'more than one message in a unary call')
    write(chunk)
  })
  // Nothing a call sends may escape its handlers (an uncaught error would end the process).
  const broken = (error: unknown) => {
    if (!answered) return fail(500, `the call failed: ${(error as Error)?.message ?? error}`)
    if (!stream.destroyed) stream.close(constants.NGHTTP2_INTERNAL_ERROR)
  }
  const write = (bytes: Buffer): boolean => {
    try {
      kind.write(bytes)
      return true
    } catch (error) {
      if (error instanceof BodyRefused) fail(error.status, error.message)
      else broken(error)
      return false
    }
  }
  stream.once('end', () => {
    if (answered) return
    if (frame === undefined || received - 5 !== frame.length) return fail(400, 'the call ended before its message did')
    const encoding = String(headers['grpc-encoding'] ?? 'identity').toLowerCase()
    if (frame.compressed && encoding !== 'gzip' && encoding !== 'deflate') {
      return fail(415, `unsupported grpc-encoding "${encoding}"; accepted: gzip, deflate, identity`, undefined, 12) // UNIMPLEMENTED
    }
    count(frame.compressed ? encoding : undefined)
  })
  const count = (encoding: string | undefined) => {
    if (encoding !== undefined) {
      // Decoded in one piece, bounded by the body limit (a bomb stops at the limit).
      const compressed = kind.take()
      const inflate = encoding === 'gzip' ? zlib.gunzip : zlib.inflate
      inflate(compressed, { maxOutputLength: options.maxBodyBytes }, (error, message) => {
        if (error) {
          const tooLarge = (error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE'
          return tooLarge
            ? fail(413, `the message is over the limit of ${options.maxBodyBytes} decoded bytes (--max-body)`)
            : fail(400, `the message is not valid ${encoding}: ${error.message}`)
        }
        if (write(message)) finish(message.length)
      })
    } else finish(frame!.length)
  }
  const finish = (bytes: number) => {
    if (answered) return
    try {
      kind.end()
    } catch (error) {
      if (error instanceof BodyRefused) return fail(error.status, error.message, kind.summary(bytes, 'the call was refused'))
      return fail(500, `the core failed on this call: ${(error as Error).message}`)
    }
    const sync = options.ack === 'flushed' || headers['loghour-sync'] === '1'
    acknowledge(consumer, sync, (notFlushed) => kind.summary(bytes, notFlushed))
      .then(({ status, error, summary }) => {
        if (error !== undefined) return fail(status, error, summary)
        if (answered) return
        answered = true
        options.onRequest?.({ endpoint: 'grpc', status, remote, ...(summary ? { summary } : {}) })
        if (stream.destroyed || stream.closed) return
        const { rejected, message } = rejectionOf(summary)
        const response = otlpExportResponse(rejected, message)
        const prefix = Buffer.alloc(5)
        prefix.writeUInt32BE(response.length, 1)
        stream.respond(
          { ':status': 200, 'content-type': 'application/grpc', 'grpc-accept-encoding': 'gzip,deflate,identity' },
          { waitForTrailers: true },
        )
        stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }))
        stream.end(Buffer.concat([prefix, response]))
      })
      .catch(broken)
  }
}
