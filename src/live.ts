// GET /events of the HTTP listener: the live dashboard's Server-Sent Events. One shared timer
// takes one snapshot a second for every connected client, and runs only while one is connected:
// the counters are read once per second in all, never per line or per client.
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { LogConsumer } from './consumer.js'
import type { DashboardData } from './dashboard.js'
import type { KafkaStatus } from './kafka.js'
import { STATS_WITHOUT_GROUPS } from './native.js'
import { peakOf, type Stats } from './stats.js'

/** What GET /events sends each second (and GET / embeds). */
export interface LiveSnapshot extends DashboardData {
  linesPerSecond: number | null
  store: { kind: 'memory' | 'redis'; reachable: boolean }
  /** With --kafka: the group, its partitions here and their lag. */
  kafka?: KafkaStatus
  at: number
}

/** What the dashboard reads of the Kafka input. */
export type KafkaStatusSource = { status(): Promise<KafkaStatus> }

/** Lines read by a moment: where the next snapshot's lines per second start from. */
export interface LinesMark {
  total: number
  at: number
}

const INTERVAL_MS = 1000
/**
 * The weekday table (144 unions, in Redis 144 PFCOUNTs over every retained day key) is read at
 * most this often, and shared by the page and every event stream: a page load costs Redis no more.
 */
const WEEKDAYS_TTL_MS = 10_000
/** Half of the listener's connections, so dashboards leave room for scrapers and probes. */
const MAX_CLIENTS = 32
/** A client this far behind is not reading: it is dropped rather than buffered for. */
const MAX_QUEUED_BYTES = 64 * 1024

/**
 * The dashboard's numbers now, from the consumer's counters (lines per second since `previous`)
 * and the weekday table read for them ({@link WeekdayTableCache}). Never rejects: when the store
 * cannot answer, the hours are `null` and `error` says why.
 * @example
 * const first = await takeSnapshot(consumer, await table.get())
 * const next = await takeSnapshot(consumer, await table.get(), { total: first.lines.total, at: first.at })
 */
export async function takeSnapshot(
  consumer: LogConsumer,
  weekdays: WeekdayTable,
  previous?: LinesMark,
  kafka?: KafkaStatusSource,
): Promise<LiveSnapshot> {
  const { lines, invalid } = consumer.lineCounts()
  const at = Date.now()
  const linesPerSecond = previous && at > previous.at ? ((lines.total - previous.total) * 1000) / (at - previous.at) : null
  let hours: number[] | null = null
  let shares: Partial<Stats> = {}
  let error: string | undefined
  try {
    const now = await consumer[STATS_WITHOUT_GROUPS]()
    hours = now.hours
    const { users, share, shareHour, minUsers, shareError } = now
    if (users) shares = { users, share, shareHour, minUsers, shareError }
  } catch (e) {
    error = (e as Error).message
  }
  const peak = hours ? peakOf(hours) : { peakHour: null, peakUsers: null }
  const store = { kind: consumer.storeKind, reachable: consumer.storeReachable && hours !== null }
  const table = hours !== null ? weekdays : {}
  const input = kafka ? { kafka: await kafka.status() } : {}
  return {
    hours,
    ...peak,
    ...shares,
    lines,
    invalid,
    linesPerSecond,
    store,
    ...input,
    at,
    ...table,
    ...(error === undefined ? {} : { error }),
  }
}

/** What is read at most every ten seconds: the weekday table (and every user's), and the groups. */
type WeekdayTable = Pick<LiveSnapshot, 'weekdays' | 'weekdayWindow' | 'weekdayUsers' | 'groupBy' | 'groups' | 'groupValues'>

/**
 * The weekday table of a daily consumer over its retained days, read at most every
 * {@link WEEKDAYS_TTL_MS} however many pages and streams ask (none when the store fails).
 * @example
 * const table = new WeekdayTableCache(consumer)
 * const snapshot = await takeSnapshot(consumer, await table.get())
 */
export class WeekdayTableCache {
  readonly #consumer: LogConsumer
  #reading: Promise<WeekdayTable> | undefined
  #readAt = 0

  constructor(consumer: LogConsumer) {
    this.#consumer = consumer
  }

  /** The table, from a read at most {@link WEEKDAYS_TTL_MS} old ({} without daily sketches). */
  get(): Promise<WeekdayTable> {
    const { daily, groupBy } = this.#consumer.options
    if (!daily && groupBy === undefined) return Promise.resolve({})
    if (this.#reading === undefined || Date.now() - this.#readAt >= WEEKDAYS_TTL_MS) {
      this.#readAt = Date.now()
      this.#reading = this.#consumer.stats(daily ? { by: 'weekday' } : {}).then(
        ({ weekdays, window, weekdayUsers, groups, groupValues }) => ({
          ...(weekdays ? { weekdays } : {}),
          ...(window ? { weekdayWindow: window } : {}),
          ...(weekdayUsers ? { weekdayUsers } : {}),
          ...(groups ? { groupBy, groups, groupValues } : {}),
        }),
        () => {
          this.#reading = undefined // a failed read is not kept: the next asks again
          return {}
        },
      )
    }
    return this.#reading
  }
}

/** The clients of GET /events and the one timer that feeds them all. */
export class LiveEvents {
  readonly #consumer: LogConsumer
  readonly #clients = new Set<ServerResponse>()
  #timer: NodeJS.Timeout | undefined
  #taking: Promise<void> | undefined
  /** The last message sent, for a client that connects between two ticks. */
  #latest: string | undefined
  #mark: LinesMark | undefined
  readonly #table: WeekdayTableCache
  readonly #kafka: KafkaStatusSource | undefined

  constructor(consumer: LogConsumer, table = new WeekdayTableCache(consumer), kafka?: KafkaStatusSource) {
    this.#consumer = consumer
    this.#table = table
    this.#kafka = kafka
  }

  /** Clients connected now. */
  get clients(): number {
    return this.#clients.size
  }

  /**
   * Serves one GET /events: the latest snapshot at once, then one a second until the client
   * goes or {@link LiveEvents.close}. 503 beyond {@link MAX_CLIENTS} clients.
   * @example
   * if (path === '/events') return events.open(req, res)
   */
  open(req: IncomingMessage, res: ServerResponse): void {
    if (this.#clients.size >= MAX_CLIENTS) {
      const body = `${JSON.stringify({ error: `too many event streams (${MAX_CLIENTS})` })}\n`
      res.writeHead(503, { 'content-type': 'application/json', 'cache-control': 'no-store', 'retry-after': '5' })
      res.end(body)
      return
    }
    // The listener's requestTimeout bounds receiving the request only; a response may last.
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' })
    if (req.method === 'HEAD') {
      res.end()
      return
    }
    res.write('retry: 2000\n\n')
    this.#clients.add(res)
    const leave = () => this.#leave(res)
    res.once('close', leave)
    res.on('error', leave)
    if (this.#latest !== undefined) this.#send(res, this.#latest)
    if (this.#timer === undefined) {
      this.#timer = setInterval(() => this.#tick(), INTERVAL_MS)
      this.#tick()
    }
  }

  /** Ends every stream and stops the timer; the listener can then close at once. */
  close(): void {
    this.#stop()
    for (const client of this.#clients) client.end()
    this.#clients.clear()
  }

  #tick(): void {
    // A slow store (a Redis round trip) skips ticks rather than stacking snapshots.
    if (this.#taking) return
    this.#taking = this.#table
      .get()
      .then((table) => takeSnapshot(this.#consumer, table, this.#mark, this.#kafka))
      .then((snapshot) => {
        if (this.#timer === undefined) return // every client left meanwhile
        this.#mark = { total: snapshot.lines.total, at: snapshot.at }
        const message = `data: ${JSON.stringify(snapshot)}\n\n`
        this.#latest = message
        for (const client of this.#clients) this.#send(client, message)
      })
      // takeSnapshot answers store failures itself; anything else waits for the next tick.
      .catch(() => {})
      .finally(() => {
        this.#taking = undefined
      })
  }

  #send(client: ServerResponse, message: string): void {
    if (client.destroyed || client.writableEnded) return
    if (client.writableLength <= MAX_QUEUED_BYTES) {
      client.write(message)
      return
    }
    client.destroy()
    this.#leave(client)
  }

  #leave(client: ServerResponse): void {
    this.#clients.delete(client)
    if (this.#clients.size === 0) this.#stop()
  }

  #stop(): void {
    clearInterval(this.#timer)
    this.#timer = undefined
    this.#latest = undefined
    this.#mark = undefined // lines per second start afresh with the next client
  }
}
