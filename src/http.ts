// The server's HTTP endpoints (off unless --http is set): the live dashboard and its events,
// Prometheus metrics, liveness, readiness and the stats object. Few connections, short timeouts
// and no work per line (the dashboard's events are one snapshot a second in all), so nothing
// here can slow ingestion.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https'
import type { AddressInfo, Socket } from 'node:net'
import type { LogConsumer } from './consumer.js'
import { renderDashboard } from './dashboard.js'
import { HttpSlots } from './http-slots.js'
import { handleIngest, IngestLimits, type IngestOptions, type IngestOutcome } from './ingest.js'
import type { KafkaInput } from './kafka.js'
import { LiveEvents, takeSnapshot, WeekdayTableCache } from './live.js'
import { createMetrics } from './metrics.js'
import { handleOtlpLogs } from './otlp.js'
import type { LogServer } from './server.js'
import { type HttpAddress, SETTINGS } from './settings.js'
import { ReplicaShortfall } from './stores/redis/replicas.js'

/** Requests that must stay answerable whatever else the listener serves (see src/http-slots.ts). */
const PROBES = new Set(['/healthz', '/readyz', '/metrics'])

/**
 * Timeouts that a slow client cannot stretch: 5 s for the headers and for a TLS handshake
 * (checked every second, not Node's default 30 s), a minute for a whole request.
 */
const LIMITS = { requestTimeout: 60_000, headersTimeout: 5_000, keepAliveTimeout: 5_000, connectionsCheckingInterval: 1_000 }
const HANDSHAKE_TIMEOUT_MS = 5_000

/** A running HTTP listener. */
export interface HttpEndpoints {
  /** Where it listens (the port chosen when 0 was asked). */
  readonly address: AddressInfo
  /** `https` with a certificate, else `http`. */
  readonly scheme: 'http' | 'https'
  /** Swaps the HTTPS certificate: new handshakes use it, open connections go on. */
  reloadTls(tls: HttpTls): void
  /** Tells the metrics and the `onRequest` of the ingest options of a body answered elsewhere (OTLP/gRPC). */
  onIngest(outcome: IngestOutcome): void
  /** Stops listening and closes its connections. */
  close(): Promise<void>
}

/** The HTTPS certificate chain and key (PEM text). */
export interface HttpTls {
  cert: string
  key: string
}

/** A request's path and query, or null for a target that is neither a path nor an absolute URL. */
export function requestTarget(raw: string | undefined): { path: string; query: URLSearchParams } | null {
  const target = raw ?? '/'
  if (target.startsWith('/') && !target.startsWith('//')) {
    const end = target.search(/[?#]/)
    const path = end < 0 ? target : target.slice(0, end)
    const query = end < 0 || target[end] === '#' ? '' : target.slice(end + 1).split('#')[0]!
    return { path, query: new URLSearchParams(query) }
  }
  // The absolute form (`GET http://host/path`), which proxies send; anything else is malformed.
  if (!/^https?:\/\//i.test(target) || !URL.canParse(target)) return null
  const url = new URL(target)
  return { path: url.pathname, query: url.searchParams }
}

/** What the endpoints read of the Kafka input (--kafka). */
export type KafkaSource = Pick<KafkaInput, 'status' | 'notReady'>

/** Readiness: why the server is not ready, or null when it is. */
async function notReady(consumer: LogConsumer, server: LogServer, kafka?: KafkaSource): Promise<string | null> {
  if (!server.listening) return 'the TCP input is not listening'
  const kafkaProblem = kafka?.notReady()
  if (kafkaProblem) return kafkaProblem
  const problem = consumer.storeProblem
  if (!consumer.storeReachable && problem instanceof ReplicaShortfall) {
    return `merges are not confirmed on the replicas they need (${problem.message}); changes are kept until they are`
  }
  const unreachable = (why: string) => `the ${consumer.storeKind} store is unreachable (${why}); changes are kept until it answers`
  if (!consumer.storeReachable) return unreachable(problem?.message ?? 'the last flush failed')
  try {
    await consumer.pingStore()
  } catch (error) {
    return unreachable((error as Error).message)
  }
  return null
}

/** The ingest endpoint's settings when none are given: the settings' defaults, no token. */
const DEFAULT_INGEST: IngestOptions = {
  maxBodyBytes: SETTINGS.maxBodyBytes.default,
  ack: SETTINGS.ingestAck.default as IngestOptions['ack'],
}

/**
 * Serves `GET /` (the live dashboard), `/events` (its Server-Sent Events), `/metrics`, `/healthz`,
 * `/readyz`, `/stats`, and `POST /ingest` (bodies of records, see src/ingest.ts) for a consumer
 * and its TCP server.
 * @example
 * const http = await startHttp(consumer, server, { host: '127.0.0.1', port: 9464 })
 */
export async function startHttp(
  consumer: LogConsumer,
  server: LogServer,
  address: HttpAddress,
  ingest: IngestOptions = DEFAULT_INGEST,
  tls?: HttpTls,
  kafka?: KafkaSource,
): Promise<HttpEndpoints> {
  const slots = new HttpSlots()
  const limits = ingest.limits ?? new IngestLimits()
  const { registry: metrics, ingested } = createMetrics(consumer, server, { slots, limits }, kafka)
  const onIngest = (outcome: IngestOutcome) => {
    ingested(outcome.endpoint, outcome.status)
    ingest.onRequest?.(outcome)
  }
  const ingestion: IngestOptions & { limits: IngestLimits } = { ...ingest, limits, onRequest: onIngest }
  const weekdays = new WeekdayTableCache(consumer)
  const events = new LiveEvents(consumer, weekdays, kafka)
  const send = (res: ServerResponse, status: number, type: string, body: string) => {
    res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) })
    res.end(body)
  }
  const json = (res: ServerResponse, status: number, value: unknown) => send(res, status, 'application/json', `${JSON.stringify(value)}\n`)
  const routes: Record<string, (res: ServerResponse, req: IncomingMessage) => Promise<void> | void> = {
    '/': async (res) => {
      const snapshot = await takeSnapshot(consumer, await weekdays.get(), undefined, kafka)
      send(res, 200, 'text/html; charset=utf-8', renderDashboard({ live: true, snapshot }))
    },
    '/events': (res, req) => events.open(req, res),
    '/metrics': async (res) => send(res, 200, metrics.contentType, await metrics.metrics()),
    '/healthz': (res) => json(res, 200, { status: 'ok' }),
    '/readyz': async (res) => {
      const reason = await notReady(consumer, server, kafka)
      json(res, reason === null ? 200 : 503, reason === null ? { status: 'ready' } : { status: 'not ready', reason })
    },
    '/stats': async (res) => {
      try {
        const stats = await consumer.stats()
        json(res, 200, kafka ? { ...stats, kafka: await kafka.status() } : stats)
      } catch (error) {
        // The input's state is worth seeing most while the store cannot answer.
        json(res, 503, { error: (error as Error).message, ...(kafka ? { kafka: await kafka.status() } : {}) })
      }
    },
  }
  const route = (req: IncomingMessage, res: ServerResponse) => {
    const target = requestTarget(req.url)
    if (target === null) return json(res, 400, { error: 'malformed request target' })
    if (!slots.serving(req.socket, res, PROBES.has(target.path))) {
      res.setHeader('retry-after', '1')
      res.setHeader('connection', 'close')
      return json(res, 503, { error: 'every connection slot is serving a request; retry' })
    }
    if (target.path === '/ingest') return handleIngest(consumer, ingestion, req, res, target.query)
    if (target.path === '/v1/logs') return handleOtlpLogs(consumer, ingestion, req, res, target.query)
    const route = Object.hasOwn(routes, target.path) ? routes[target.path] : undefined
    if (!route)
      return json(res, 404, { error: `no such endpoint: ${target.path}`, endpoints: [...Object.keys(routes), '/ingest', '/v1/logs'] })
    if (req.method !== 'GET' && req.method !== 'HEAD') return json(res, 405, { error: 'GET only' })
    Promise.resolve(route(res, req)).catch((error: Error) => failed(res, error))
  }
  // Nothing a request holds may end the process: whatever escapes a route is its 500.
  const failed = (res: ServerResponse, error: unknown) => {
    if (!res.headersSent && !res.destroyed) json(res, 500, { error: (error as Error)?.message ?? String(error) })
    else res.destroy()
  }
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    try {
      route(req, res)
    } catch (error) {
      failed(res, error)
    }
  }
  const http: Server | HttpsServer = tls
    ? createHttpsServer({ ...LIMITS, handshakeTimeout: HANDSHAKE_TIMEOUT_MS, ...tls }, handle)
    : createServer(LIMITS, handle)
  // Slots are taken per TCP connection, before any TLS handshake or header (src/http-slots.ts).
  http.on('connection', (socket: Socket) => slots.admit(socket))
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject)
    http.listen(address.port, address.host, () => {
      http.off('error', reject)
      resolve()
    })
  })
  return {
    address: http.address() as AddressInfo,
    scheme: tls ? 'https' : 'http',
    onIngest,
    reloadTls: (next) => {
      if (!tls) throw new Error('the HTTP endpoints serve plain HTTP')
      ;(http as HttpsServer).setSecureContext(next)
    },
    close: () =>
      new Promise<void>((resolve) => {
        events.close() // event streams never end by themselves
        http.close(() => resolve())
        http.closeAllConnections()
      }),
  }
}
