// POST /ingest: shippers' HTTP outputs (Fluent Bit `http`, Vector `http`, Logstash `http`,
// rsyslog `omhttp`) deliver bodies of records here and retry until a 2xx. The body streams
// through the native core as it arrives (never buffered whole); the answer comes only once every
// record of it is counted, or, when asked, once the store confirmed it. Counting is idempotent,
// so a retried body counts nothing twice. The contract is in docs/contract.md ("HTTP ingest").
import { createHash, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { DECODER_BUDGET_BYTES, decodingOf, INGEST_ENCODINGS } from './body-decoders.js'
import type { LogConsumer } from './consumer.js'
import { type NativeLineCounts, type NativeLineStream, OPEN_NATIVE_STREAM } from './native.js'
import { describeReading, streamReading } from './schemas.js'
import { lineCountsOf } from './stats.js'

/** How a running server takes HTTP bodies. */
export interface IngestOptions {
  /** Decoded bytes a body may have (`--max-body`); over it the answer is 413. */
  maxBodyBytes: number
  /** Bearer token every request must carry (`--ingest-token`); none when undefined. */
  token?: string | undefined
  /** Web origins allowed to send bodies from a browser (`--ingest-origins`; `*` for any); none when undefined. */
  origins?: readonly string[] | undefined
  /** Answer once counted, or once the store confirmed (`--ingest-ack`; `?sync=1` per request). */
  ack: 'counted' | 'flushed'
  /** Told of every answered or cut-off request (the server logs them). */
  onRequest?: ((outcome: IngestOutcome) => void) | undefined
  /** Shared by the listener's bodies (a listener of its own when not given). */
  limits?: IngestLimits | undefined
}

/** What one request came to, for the log. */
export interface IngestOutcome {
  /** Where it came: `/ingest`, `/v1/logs`, or `grpc` (OTLP/gRPC). */
  endpoint: string
  /** The HTTP status answered (400 also when the client was gone before an answer). */
  status: number
  /** The client's address. */
  remote: string
  /** Why it was refused or cut short. */
  error?: string
  summary?: IngestSummary
}

/** The JSON answer to a body: what its records were, as the line counts say them. */
export interface IngestSummary {
  /** Records read (lines, or JSON values of a batch). */
  lines: number
  counted: number
  skipped: number
  blank: number
  invalid: Record<string, number>
  /** Decoded bytes of the body. */
  bytes: number
  /**
   * Whether something that outlives the process holds it before this answer (`?sync=1`,
   * `--ingest-ack flushed`): Redis confirmed it, or the snapshot file was written. Always false
   * with the memory store and no snapshot, where nothing does.
   */
  flushed: boolean
  /** Why `flushed` is false, in a sentence (absent when it is true). */
  notFlushed?: string
  /** How the body's records were read (with format auto, as its first records decided). */
  reading?: string
}

/** Why an answer says `flushed: false`. */
const NOT_FLUSHED = {
  memory: 'the memory store keeps counts in this process only (nothing outlives it to confirm them): use --redis, or --snapshot',
  notAsked: 'counted; the answer did not wait for the store (ask with ?sync=1 or --ingest-ack flushed)',
  cut: 'the body was refused or cut short',
}

export { INGEST_ENCODINGS } from './body-decoders.js'

/** Seconds a client is asked to wait before retrying a body the store did not confirm. */
export const STORE_RETRY_AFTER_S = 2

/** Bodies read at once at most; more are answered 503 with Retry-After before they are read. */
export const MAX_INGEST_BODIES = 64

/**
 * A body must keep arriving: at least this many bytes in each {@link SLOW_BODY_WINDOW_MS}
 * (1 KiB/s), or it is cut and answered 408, its whole records counted. A trickling client would
 * otherwise hold a slot, and its unfinished record, for as long as it likes.
 */
const SLOW_BODY_MIN_BYTES = 5 * 1024
const SLOW_BODY_WINDOW_MS = 5000

/**
 * A bounded amount of something (bodies, decoder bytes) that requests take and give back.
 * @example
 * const release = budget.take(cost) // undefined: it does not fit now, answer 503
 * release?.() // when the request is done, however it ended (a second call does nothing)
 */
export class Budget {
  #used = 0
  constructor(readonly limit: number) {}

  /** How much is taken now. */
  get used(): number {
    return this.#used
  }

  /** Takes `amount`; the function returned gives it back (once). Undefined when it does not fit. */
  take(amount = 1): (() => void) | undefined {
    if (this.#used + amount > this.limit) return undefined
    this.#used += amount
    let given = false
    return () => {
      if (given) return
      given = true
      this.#used -= amount
    }
  }
}

/**
 * Bytes of bodies held whole until their end (OTLP messages) at once at most: 64 bodies of the
 * 16 MiB limit would be 1 GiB; past this, a body is answered 503 with Retry-After.
 */
export const HELD_BODY_BUDGET_BYTES = 256 << 20

/** What the bodies of one listener share: how many are being read, their decoders' memory, and the bytes held whole. */
export class IngestLimits {
  readonly bodies = new Budget(MAX_INGEST_BODIES)
  readonly decoders = new Budget(DECODER_BUDGET_BYTES)
  readonly held = new Budget(HELD_BODY_BUDGET_BYTES)
}

const digest = (value: string) => createHash('sha256').update(value).digest()

/** An `Authorization` header (of a request, or gRPC metadata) bears `token`, compared in constant time (of equal digests). */
export function authorized(header: string | undefined, token: string): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')
  return match !== null && timingSafeEqual(digest(match[1]!), digest(token))
}

/**
 * Why a request comes from a web page that may not send records, or null: browsers add `Origin`
 * to every POST (also `no-cors`, and after DNS rebinding) and `Sec-Fetch-Site`; shippers send
 * neither. Without this, any page a user opens could count records into a token-less listener.
 */
function crossSite(req: IncomingMessage, allowed: readonly string[] | undefined): string | null {
  const origin = req.headers.origin
  const site = req.headers['sec-fetch-site']
  if (origin === undefined) return site === 'cross-site' || site === 'same-site' ? `Sec-Fetch-Site: ${site}` : null
  if (allowed?.includes('*') || allowed?.includes(origin.toLowerCase().replace(/\/$/, ''))) return null
  return `Origin: ${origin.slice(0, 200)}`
}

const isSpace = (b: number) => b === 0x20 || b === 0x09 || b === 0x0d || b === 0x0a

/** Blank lines written at once for the whitespace before a body's first record. */
const BLANK_LINES = Buffer.alloc(64 * 1024, 0x0a)

/** Newlines in `chunk` (a chunk of whitespace). */
function newlinesIn(chunk: Buffer): number {
  let n = 0
  for (let at = chunk.indexOf(0x0a); at >= 0; at = chunk.indexOf(0x0a, at + 1)) n++
  return n
}

/**
 * What a body's bytes become: records counted as they arrive (`/ingest`), or a message counted
 * whole at its end (`/v1/logs`); and how its answers are written. The rest of a request's
 * handling (token, origin, encodings, limits, acknowledgement) is one machinery for both.
 */
export interface BodyKind {
  /** The endpoint, for the log (`/ingest`, `/v1/logs`). */
  readonly endpoint: string
  /** Takes the next decoded bytes (every byte before the body limit). May throw (a 500). */
  write(chunk: Buffer): void
  /** The body is whole: count what remains; throws a {@link BodyRefused} when it does not decode. */
  end(): void
  /** The body was cut: what is unfinished is not a record. */
  discard(): void
  /** Its records' counts so far. */
  summary(bytes: number, notFlushed: string): IngestSummary
  /** Writes an answer: a summary on success, else an error (with the counts so far). */
  respond(res: ServerResponse, answer: BodyAnswer): void
  /** Why the request cannot be read by this kind (a 415), checked after the token; none: it can. */
  unsupported?(req: IncomingMessage): string | undefined
}

/** One answer to a body. */
export interface BodyAnswer {
  status: number
  /** Why it was refused or cut short (absent on success). */
  error?: string | undefined
  summary?: IngestSummary | undefined
  headers: Record<string, string>
}

/** A body the kind cannot read at all (an OTLP message that does not decode): nothing of it counted. */
export class BodyRefused extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message)
  }
}

/**
 * Handles `POST /ingest` for a consumer. Answers: 200 with an {@link IngestSummary}; 400 when the
 * body was cut short (its complete records are counted, the cut one is not); 401 without the
 * token; 413 over the size limit; 415 for an unknown encoding; 503 when `?sync=1` and the store
 * did not confirm (the records are counted and kept; a retry is harmless).
 */
export function handleIngest(
  consumer: LogConsumer,
  options: IngestOptions,
  req: IncomingMessage,
  res: ServerResponse,
  query: URLSearchParams,
): void {
  receiveBody(consumer, options, req, res, query, new LinesBody(consumer))
}

/** The JSON answer of `/ingest`: the summary, or the error beside it. */
function respondJson(res: ServerResponse, { status, error, summary, headers }: BodyAnswer): void {
  const text = `${JSON.stringify(error === undefined ? summary : { error, ...summary })}\n`
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers })
  res.end(text)
}

/** An `/ingest` body: lines (or a JSON batch) counted as they arrive, through one native stream. */
class LinesBody implements BodyKind {
  readonly endpoint = '/ingest'
  #native: NativeLineStream | undefined
  // Whitespace before the first record, until the framing is known: only its newlines matter
  // (each is a blank line when the body is lines), so only they are kept, as a number.
  #leadingNewlines = 0
  #leadingTail = false // whitespace after the last of them (an unfinished blank line)

  constructor(readonly consumer: LogConsumer) {}

  #open(framing: 'json-batch' | undefined): NativeLineStream {
    const native = this.consumer[OPEN_NATIVE_STREAM](framing, true)
    this.#native = native
    if (framing === undefined) {
      for (let n = this.#leadingNewlines; n > 0; n -= BLANK_LINES.length)
        native.write(BLANK_LINES.subarray(0, Math.min(n, BLANK_LINES.length)))
      if (this.#leadingTail) native.write(Buffer.from(' '))
    }
    this.#leadingNewlines = 0
    return native
  }

  write(chunk: Buffer): void {
    let native = this.#native
    if (native === undefined) {
      let i = 0
      while (i < chunk.length && isSpace(chunk[i]!)) i++
      if (i === chunk.length) {
        const newlines = newlinesIn(chunk)
        this.#leadingNewlines += newlines
        this.#leadingTail = newlines > 0 ? chunk.at(-1) !== 0x0a : this.#leadingTail || chunk.length > 0
        return
      }
      // A body that is a JSON array (Logstash's json_batch) is a batch of records.
      native = this.#open(chunk[i] === 0x5b ? 'json-batch' : undefined)
    }
    native.write(chunk)
  }

  end(): void {
    if (this.#native === undefined && (this.#leadingNewlines > 0 || this.#leadingTail)) this.#open(undefined) // a body of blank lines
    this.#native?.end() // an unterminated final record counts, as on a connection's end
  }

  discard(): void {
    this.#native?.discard()
  }

  summary(bytes: number, notFlushed: string): IngestSummary {
    const native = this.#native
    const reading = native && streamReading(native, this.consumer.options)
    return { ...summaryOf(native?.lineCounts() ?? undefined, bytes, notFlushed), ...(reading ? { reading: describeReading(reading) } : {}) }
  }

  respond(res: ServerResponse, answer: BodyAnswer): void {
    respondJson(res, answer)
  }
}

/** A summary from a body's own line counts. */
export function summaryOf(counts: NativeLineCounts | undefined, bytes: number, notFlushed: string): IngestSummary {
  const own = counts ? lineCountsOf(counts) : undefined
  const invalid = Object.fromEntries(Object.entries(own?.invalid ?? {}).filter(([, n]) => n > 0))
  const { total = 0, counted = 0, skipped = 0, blank = 0 } = own?.lines ?? {}
  return { lines: total, counted, skipped, blank, invalid, bytes, flushed: false, notFlushed }
}

/**
 * The answer to a body counted whole: 200 at once, or with `sync` once the store confirmed it
 * (503 with Retry-After when it did not: counted and kept; a retry counts nothing twice).
 * "flushed" is only said where something outlives the process: Redis, or a snapshot file.
 */
export async function acknowledge(
  consumer: LogConsumer,
  sync: boolean,
  summary: (notFlushed: string) => IngestSummary,
): Promise<Omit<BodyAnswer, 'headers'> & { headers?: Record<string, string> }> {
  const durable = consumer.storeKind === 'redis' || consumer.options.snapshot !== undefined
  if (!durable) return { status: 200, summary: summary(NOT_FLUSHED.memory) }
  if (!sync) return { status: 200, summary: summary(NOT_FLUSHED.notAsked) }
  const { notFlushed: _, ...counted } = summary('')
  try {
    await consumer.flush()
    return { status: 200, summary: { ...counted, flushed: true } }
  } catch (error) {
    return {
      status: 503,
      error: `counted, but the store did not confirm: ${(error as Error).message}`,
      summary: { ...counted, flushed: false, notFlushed: 'the store did not confirm it' },
      headers: { 'retry-after': String(STORE_RETRY_AFTER_S) },
    }
  }
}

/**
 * Reads a body for `kind` with the listener's token, origin rule, size limit, decoders and
 * acknowledgement: 401/403 before reading, 413 over the limit, 415 for an unknown encoding, 408
 * for a trickle, 400 when cut short, 503 (Retry-After) when busy or when the store did not
 * confirm a `sync` body.
 */
export function receiveBody(
  consumer: LogConsumer,
  options: IngestOptions,
  req: IncomingMessage,
  res: ServerResponse,
  query: URLSearchParams,
  kind: BodyKind,
): void {
  const remote = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`
  const answer = (status: number, error: string | undefined, summary?: IngestSummary, headers: Record<string, string> = {}) => {
    options.onRequest?.({
      endpoint: kind.endpoint,
      status,
      remote,
      ...(error === undefined ? {} : { error }),
      ...(summary ? { summary } : {}),
    })
    if (res.headersSent || res.destroyed) return
    kind.respond(res, { status, error, summary, headers })
  }
  // A refusal before the body is read: say so and close, so the client does not keep sending.
  const refuse = (status: number, error: string, headers: Record<string, string> = {}) => {
    answer(status, error, undefined, { connection: 'close', ...headers })
    req.resume()
  }
  if (req.method !== 'POST') {
    refuse(405, 'POST only', { allow: 'POST' })
    return
  }
  const refusedOrigin = crossSite(req, options.origins)
  if (refusedOrigin !== null) {
    refuse(403, `requests from web pages are refused (${refusedOrigin}); allow the page's origin with --ingest-origins`)
    return
  }
  if (options.token !== undefined && !authorized(req.headers.authorization, options.token)) {
    refuse(401, 'a bearer token is required (Authorization: Bearer …)', { 'www-authenticate': 'Bearer realm="loghour"' })
    return
  }
  const unsupported = kind.unsupported?.(req)
  if (unsupported !== undefined) {
    refuse(415, unsupported)
    return
  }
  const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase()
  const identity = encoding === 'identity' || encoding === ''
  const decoding = identity ? undefined : decodingOf(encoding)
  if (!identity && decoding === undefined) {
    refuse(415, `unsupported Content-Encoding "${encoding}"; accepted: ${INGEST_ENCODINGS.join(', ')}`)
    return
  }
  const declared = Number(req.headers['content-length'] ?? Number.NaN)
  if (declared > options.maxBodyBytes) {
    refuse(413, `the body (${declared} bytes) is over the limit of ${options.maxBodyBytes} bytes (--max-body)`)
    return
  }
  const limits = options.limits ?? new IngestLimits()
  const release = limits.bodies.take()
  if (release === undefined) {
    refuse(503, `${limits.bodies.limit} bodies are being read; retry`, { 'retry-after': '1' })
    return
  }
  let releaseDecoder: (() => void) | undefined
  res.once('close', () => {
    release()
    releaseDecoder?.()
  })
  const sync = options.ack === 'flushed' || query.get('sync') === '1'
  let bytes = 0
  let done = false
  let body: NodeJS.ReadableStream & { destroy(): void } = req
  const fail = (status: number, error: string, headers: Record<string, string> = {}) => {
    if (done) return
    done = true
    clearInterval(watch)
    kind.discard() // the cut record is not a record
    answer(status, error, kind.summary(bytes, NOT_FLUSHED.cut), { connection: 'close', ...headers })
    body.destroy()
    if (body !== req) req.destroy()
  }
  const feed = (chunk: Buffer) => {
    if (done) return
    const room = options.maxBodyBytes - bytes
    bytes += chunk.length
    try {
      // The records before the limit count, also those in the chunk that crosses it.
      kind.write(chunk.length > room ? chunk.subarray(0, room) : chunk)
    } catch (error) {
      if (error instanceof BodyRefused) return fail(error.status, error.message, error.headers)
      return fail(500, `the core failed on this body: ${(error as Error).message}`)
    }
    if (chunk.length > room) {
      fail(
        413,
        `the body is over the limit of ${options.maxBodyBytes} decoded bytes (--max-body); the records before the limit are counted`,
      )
    }
  }
  const finish = () => {
    if (done) return
    done = true
    clearInterval(watch)
    try {
      kind.end()
    } catch (error) {
      if (error instanceof BodyRefused) return answer(error.status, error.message, kind.summary(bytes, NOT_FLUSHED.cut), error.headers)
      return answer(500, `the core failed on this body: ${(error as Error).message}`, kind.summary(bytes, NOT_FLUSHED.cut))
    }
    acknowledge(consumer, sync, (notFlushed) => kind.summary(bytes, notFlushed))
      .then(({ status, error, summary, headers }) => answer(status, error, summary, headers))
      .catch(() => res.destroy()) // never an unhandled rejection: that would end the process
  }
  // A body that stops arriving (a trickle, a stalled sender) is cut, as one cut short.
  let received = 0
  let receivedBefore = 0
  req.on('data', (chunk: Buffer) => (received += chunk.length))
  const watch = setInterval(() => {
    if (received - receivedBefore < SLOW_BODY_MIN_BYTES) {
      fail(
        408,
        `the body arrived slower than ${SLOW_BODY_MIN_BYTES} bytes in ${SLOW_BODY_WINDOW_MS / 1000} s; its whole records are counted`,
      )
    }
    receivedBefore = received
  }, SLOW_BODY_WINDOW_MS)
  watch.unref()
  req.once('end', () => clearInterval(watch)) // all of it came: decoding and counting are ours
  const decode = (first: Buffer) => {
    // The decoder's memory is charged before it exists: its window, declared by the first bytes.
    releaseDecoder = limits.decoders.take(decoding!.cost(first))
    if (releaseDecoder === undefined) {
      return fail(503, `decoders of other compressed bodies use the memory for ${encoding} now; retry`, { 'retry-after': '1' })
    }
    const decoder = decoding!.create()
    body = decoder
    decoder.on('data', feed)
    decoder.on('end', finish)
    decoder.on('error', (error: Error) => fail(400, `the body was cut short or is not valid ${encoding}: ${error.message}`))
    decoder.write(first)
    req.pipe(decoder)
  }
  if (decoding === undefined) {
    req.on('data', feed)
    req.on('end', finish)
  } else {
    req.once('data', (first: Buffer) => {
      req.pause()
      decode(first)
    })
    // An empty compressed body: nothing to decode, nothing counted (as an empty one).
    req.once('end', () => {
      if (body === req) finish()
    })
  }
  // The client went away before the whole body came (a connection cut, a short Content-Length).
  const cut = () => {
    if (!req.complete) fail(400, 'the body was cut short: the connection closed before its end')
  }
  req.on('aborted', cut) // what Node 20 and 22 emit when the client ends its side mid-body
  req.on('close', cut)
  req.on('error', () => fail(400, 'the body was cut short: the connection failed'))
}
