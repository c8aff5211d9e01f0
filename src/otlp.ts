// OpenTelemetry logs in (OTLP): `POST /v1/logs` on the HTTP listener, protobuf or JSON, through
// the same body machinery as /ingest (token, origin, limits, encodings, acknowledgement). A
// message is held whole (it cannot be read before its end), then decoded and counted in one
// native call; the answer is an ExportLogsServiceResponse in the request's encoding. The
// mapping of a LogRecord to a count is in crate/src/otlp.rs and docs/contract.md ("OpenTelemetry").
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { LogConsumer } from './consumer.js'
import {
  type BodyAnswer,
  type BodyKind,
  BodyRefused,
  type IngestLimits,
  type IngestOptions,
  type IngestSummary,
  receiveBody,
  summaryOf,
} from './ingest.js'
import { COUNT_OTLP, type NativeOtlpCounts, otlpExportResponse, otlpStatus } from './native.js'
import { describeReading, readingOf } from './schemas.js'

/** How an OTLP message is encoded. */
export type OtlpEncoding = 'protobuf' | 'json'

/** The encoding a Content-Type names, or undefined for another type. */
export function otlpEncodingOf(contentType: string | undefined): OtlpEncoding | undefined {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase()
  if (type === 'application/x-protobuf' || type === 'application/protobuf') return 'protobuf'
  if (type === 'application/json') return 'json'
  return undefined
}

/**
 * The gRPC status code of an HTTP answer (OTLP's error bodies and gRPC carry these): UNAVAILABLE
 * (14, retried by exporters) only where a retry can succeed; RESOURCE_EXHAUSTED (8) for a message
 * over the size limit, which OTLP clients do not retry without RetryInfo.
 */
export function grpcCodeOf(status: number): number {
  const codes: Record<number, number> = { 400: 3, 401: 16, 403: 7, 404: 12, 405: 12, 408: 4, 413: 8, 415: 3, 429: 8, 503: 14 }
  return status < 300 ? 0 : (codes[status] ?? 13)
}

/** Records rejected by a summary (those counted invalid), and why, for `partialSuccess`. */
export function rejectionOf(summary: IngestSummary | undefined): { rejected: number; message: string } {
  const invalid = Object.entries(summary?.invalid ?? {})
  const rejected = invalid.reduce((sum, [, n]) => sum + n, 0)
  if (rejected === 0) return { rejected: 0, message: '' }
  const reasons = invalid.map(([reason, n]) => `${reason} ${n}`).join(', ')
  const reading = summary?.reading === undefined ? '' : `; bodies read as ${summary.reading}`
  return {
    rejected,
    message: `${rejected} of ${summary!.lines} log records could not be read (${reasons})${reading}; the mapping is in loghour's docs/contract.md`,
  }
}

/** The answer to an OTLP request as bytes: ExportLogsServiceResponse on success, else google.rpc.Status. */
export function otlpAnswer(encoding: OtlpEncoding, answer: Pick<BodyAnswer, 'status' | 'error' | 'summary'>): Buffer {
  if (answer.error === undefined) {
    const { rejected, message } = rejectionOf(answer.summary)
    if (encoding === 'protobuf') return otlpExportResponse(rejected, message)
    const partial = rejected === 0 ? {} : { partialSuccess: { rejectedLogRecords: String(rejected), errorMessage: message } }
    return Buffer.from(JSON.stringify(partial))
  }
  const code = grpcCodeOf(answer.status)
  if (encoding === 'protobuf') return otlpStatus(code, answer.error)
  return Buffer.from(JSON.stringify({ code, message: answer.error }))
}

/** The counts of a whole OTLP message, held until its end, then counted in one native call. */
export class OtlpBody implements BodyKind {
  readonly endpoint = '/v1/logs'
  #chunks: Buffer[] = []
  #releases: (() => void)[] = []
  #counts: NativeOtlpCounts | undefined

  constructor(
    readonly consumer: LogConsumer,
    /** Undefined: a Content-Type that is neither (answered 415 in JSON). */
    readonly encoding: OtlpEncoding | undefined,
    readonly limits: IngestLimits,
  ) {}

  unsupported(): string | undefined {
    if (this.encoding !== undefined) return undefined
    return 'an OTLP logs request is application/x-protobuf or application/json'
  }

  write(chunk: Buffer): void {
    const release = this.limits.held.take(chunk.length)
    if (release === undefined) {
      throw new BodyRefused(503, `other OTLP bodies hold ${this.limits.held.limit} bytes now; retry`, { 'retry-after': '1' })
    }
    this.#releases.push(release)
    this.#chunks.push(chunk)
  }

  /** The bytes held so far, given back (a compressed gRPC message, decoded before it is written again). */
  take(): Buffer {
    const bytes = Buffer.concat(this.#chunks)
    this.discard()
    return bytes
  }

  end(): void {
    const body = this.take()
    try {
      this.#counts = this.consumer[COUNT_OTLP](body, this.encoding!)
    } catch (error) {
      // The core's own refusals (InvalidArg) say why the message does not decode; others are bugs.
      if ((error as { code?: string }).code === 'InvalidArg') throw new BodyRefused(400, (error as Error).message)
      throw error
    }
  }

  /** Drops what is held (also once counted), giving its bytes back. */
  discard(): void {
    this.#chunks = []
    for (const release of this.#releases.splice(0)) release()
  }

  summary(bytes: number, notFlushed: string): IngestSummary {
    const readings = (this.#counts?.readings ?? []).map((r) => describeReading(readingOf(r)))
    return { ...summaryOf(this.#counts?.lineCounts, bytes, notFlushed), ...(readings.length > 0 ? { reading: readings.join('; ') } : {}) }
  }

  respond(res: ServerResponse, answer: BodyAnswer): void {
    const encoding = this.encoding ?? 'json'
    const body = otlpAnswer(encoding, answer)
    const type = encoding === 'protobuf' ? 'application/x-protobuf' : 'application/json'
    res.writeHead(answer.status, { 'content-type': type, 'content-length': body.length, ...answer.headers })
    res.end(body)
  }
}

/**
 * Handles `POST /v1/logs` (OTLP/HTTP): 200 with an ExportLogsServiceResponse (its
 * `partialSuccess` names the records that could not be read); 400 for a message that does not
 * decode (nothing counted); 415 for another Content-Type; 401, 403, 408, 413 and 503 (with
 * Retry-After) as for /ingest, with a google.rpc.Status body.
 */
export function handleOtlpLogs(
  consumer: LogConsumer,
  options: IngestOptions & { limits: IngestLimits },
  req: IncomingMessage,
  res: ServerResponse,
  query: URLSearchParams,
): void {
  const kind = new OtlpBody(consumer, otlpEncodingOf(req.headers['content-type']), options.limits)
  res.once('close', () => kind.discard())
  receiveBody(consumer, options, req, res, query, kind)
}
