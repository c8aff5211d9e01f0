import type { ServerResponse } from 'node:http'
import { Writable } from 'node:stream'
import { type DayWindow, dateOf, type StatsQuery, today, windowOf } from './days.js'
import { clientAddress, type MiddlewareOptions, type RequestCounter, requestGroup, resolveMiddlewareOptions } from './middleware.js'
import {
  COUNT_OTLP,
  HOURS,
  type LineSink,
  type NativeFraming,
  type NativeLineStream,
  type NativeOtlpCounts,
  NativeSketchSet,
  OPEN_NATIVE_STREAM,
  STATS_WITHOUT_GROUPS,
} from './native.js'
import { type ConsumerOptions, type ListenOptions, OptionError, type ResolvedConsumerOptions, resolveConsumerOptions } from './options.js'
import { nativeRule, type Reading, type ReadingOptions, streamReading } from './schemas.js'
import { LogServer } from './server.js'
import { buildStats, lineCountsOf, SHARE_ERROR, type Stats, sharesOf } from './stats.js'
import { MemoryStore } from './stores/memory.js'
import type { Shortfall } from './stores/redis/replicas.js'
import { RedisStore } from './stores/redis.js'
import type { FlushInfo, HourStore, StoreEvents, StoreReset, WindowCounts } from './stores/store.js'

type Callback = (error?: Error | null) => void

/** Node buffers this much before `write()` asks for backpressure; lines are counted at once. */
const HIGH_WATER_MARK = 4 * 1024 * 1024

/**
 * A `Writable` over one native line stream: every chunk's lines are counted before its callback
 * (the native stream never defers work), and ending it counts an unterminated final line.
 */
class LineWritable extends Writable {
  readonly #native: NativeLineStream
  readonly #reading: ReadingOptions

  constructor(native: NativeLineStream, reading: ReadingOptions) {
    super({ highWaterMark: HIGH_WATER_MARK, decodeStrings: true })
    this.#native = native
    this.#reading = reading
  }

  /**
   * How this stream's records are read: with `format: 'auto'` what it decided from its first
   * records (undefined until they are in), else what the options set.
   */
  get reading(): Reading | undefined {
    return streamReading(this.#native, this.#reading)
  }

  /** Bytes of an unfinished line buffered until its `\n`. */
  get bufferedBytes(): number {
    return this.#native.bufferedBytes()
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: Callback): void {
    this._writev([{ chunk }], callback)
  }

  override _writev(chunks: { chunk: Buffer }[], callback: Callback): void {
    try {
      for (const { chunk } of chunks) this.#native.write(chunk)
    } catch (error) {
      callback(error as Error)
      return
    }
    callback()
  }

  override _final(callback: Callback): void {
    try {
      this.#native.end()
    } catch (error) {
      callback(error as Error)
      return
    }
    callback()
  }
}

/**
 * One input stream of a consumer (a file, a socket): it has its own partial line, and feeds the
 * consumer's shared sketches. Ending it counts an unterminated final line.
 */
export class LogInput extends LineWritable {
  /** @internal use {@link LogConsumer.openStream}. */
  constructor(native: NativeLineStream, reading: ReadingOptions) {
    super(native, reading)
  }
}

/** Events of a {@link LogConsumer}, besides those of a `Writable`. */
export interface LogConsumerEvents {
  /** The store received the changes (Redis merge or snapshot write). */
  flushed: [info: FlushInfo]
  /** The store became unreachable; emitted once per outage. Counting goes on, changes are kept. */
  storeDown: [error: Error]
  /**
   * A scheduled flush failed (every one, unlike `storeDown`), or an attempt of the final flush
   * in `close()`; its changes go with the next.
   */
  flushFailed: [error: Error]
  /** The store is reachable again and has received what was kept. */
  storeUp: [info: { downtimeMs: number }]
  /**
   * The store lost data it had confirmed (Redis restarted without persistence, failed over, or
   * the keys were deleted): everything this consumer counted since it started is merged again.
   */
  storeReset: [info: StoreReset]
}

/**
 * Counts, from access logs (JSON records or Combined lines, the format detected unless set), the
 * distinct users who saw a 5xx at each hour of the working day. Write chunks of any size and split (it is a `Writable`: pipe a file or a
 * socket into it); ask {@link LogConsumer.stats} for the answer at any moment.
 *
 * @example
 * ```ts
 * import { createConsumer } from 'loghour'
 * const consumer = createConsumer()
 * consumer.write('{"time":"2019-05-06 17:25:54","ip":"10.0.121.67","status_code":500}\n')
 * const { peakHour, hours } = await consumer.stats() // 17, hours[17] === 1
 * await consumer.close()
 * ```
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the interface below only types its events
export class LogConsumer extends LineWritable implements LineSink {
  /** The options in effect, defaults applied. */
  readonly options: Readonly<ResolvedConsumerOptions>
  readonly #sketches: NativeSketchSet
  readonly #store: HourStore
  readonly #timer: NodeJS.Timeout | undefined
  readonly #servers = new Set<LogServer>()
  /** Per-day sketches of every date read, none dropped (`loghour analyze` of old files). */
  readonly #everyDay: boolean
  #closing: Promise<void> | undefined
  #storeReachable = true

  /** @param internal `everyDay`: keep every day read, whatever "today" is (files, not a live stream). */
  constructor(options: ConsumerOptions = {}, internal: { everyDay?: boolean } = {}) {
    const resolved = resolveConsumerOptions(options)
    const rule = { ...nativeRule(resolved), allUsers: resolved.allUsers, maxGroups: resolved.maxGroups }
    const sketches = new NativeSketchSet(resolved.groupBy === undefined ? rule : { ...rule, groupBy: resolved.groupBy }, resolved.daily)
    super(sketches.openStream(resolved.maxLineBytes), resolved)
    this.options = Object.freeze(resolved)
    this.#sketches = sketches
    this.#everyDay = internal.everyDay === true
    this.#advanceDays()
    const events: StoreEvents = {
      flushed: (info) => this.emit('flushed', info),
      down: (error) => {
        this.#storeReachable = false
        this.emit('storeDown', error)
      },
      up: (info) => {
        this.#storeReachable = true
        this.emit('storeUp', info)
      },
      reset: (info) => this.emit('storeReset', info),
      closeAttemptFailed: (error) => this.emit('flushFailed', error),
    }
    const store = resolved.store
    this.#store =
      store === 'memory'
        ? new MemoryStore(this.#sketches, resolved.snapshot, events)
        : new RedisStore('redis' in store ? store.redis : store.redisCluster, this.#sketches, {
            tls: store.tls,
            minReplicas: resolved.minReplicas,
            ...(resolved.daily ? { daily: { retainDays: resolved.retainDays, timezone: resolved.timezone } } : {}),
            keyPrefix: resolved.keyPrefix,
            usersKeyPrefix: resolved.usersKeyPrefix,
            timeoutMs: resolved.redisTimeoutMs,
            closeTimeoutMs: resolved.closeTimeoutMs,
            events,
          })
    if (store !== 'memory' || resolved.snapshot !== undefined || (resolved.daily && !this.#everyDay)) {
      // Failures are reported through storeDown/storeUp; the changes stay for the next flush.
      this.#timer = setInterval(() => {
        this.#advanceDays()
        void this.#store.flush().catch((error: Error) => this.emit('flushFailed', error))
      }, resolved.flushIntervalMs)
      this.#timer.unref()
    }
  }

  /**
   * Moves the kept days to today's: `retainDays` before it to the day after it (a time written
   * in a zone ahead of the team's), dropping older days, so memory stays bounded.
   */
  #advanceDays(): void {
    if (!this.options.daily || this.#everyDay) return
    const now = today(this.options.timezone)
    this.#sketches.setDayWindow(now - this.options.retainDays, now + 1)
  }

  /** The window of a query that names none: the retained days (every day held, for files). */
  #defaultWindow(): DayWindow {
    const now = today(this.options.timezone)
    if (!this.#everyDay) return { from: now - this.options.retainDays, to: now }
    const days = this.#sketches.dayHours().map((p) => p.day)
    return days.length === 0 ? { from: now, to: now } : { from: Math.min(...days), to: Math.max(...days) }
  }

  /**
   * With `format: 'auto'`: the streams read so far by the reading each decided on, and how many
   * of them found their first records mostly unreadable.
   */
  streamReadings(): { readings: Record<string, number>; unreadable: number } {
    const counts = this.#sketches.readings()
    return {
      readings: Object.fromEntries(counts.map((c) => [c.reading, c.streams])),
      unreadable: counts.reduce((sum, c) => sum + c.unreadable, 0),
    }
  }

  /** False from a `storeDown` until the next `storeUp`: the store is not receiving the changes. */
  get storeReachable(): boolean {
    return this.#storeReachable
  }

  /** Why the store is not taking the changes now (the last flush's error), or undefined. */
  get storeProblem(): Error | undefined {
    return this.#store.problem()
  }

  /** Shards (masters) whose last merge did not reach the replicas it needs, with how many did. */
  replicaShortfalls(): Shortfall[] {
    return this.#store.replicaShortfalls()
  }

  /**
   * Resolves when the store answers now (for the Redis store a PING within `redisTimeoutMs`, also
   * while nothing is flushed); rejects with why not.
   */
  async pingStore(): Promise<void> {
    await this.#store.ping()
  }

  /** The store's kind: `'memory'` or `'redis'`. */
  get storeKind(): 'memory' | 'redis' {
    return this.#store.kind
  }

  /**
   * Opens another independent input (a file, a connection) that feeds the same counts; each
   * has its own partial line, so inputs never mix their lines.
   */
  openStream(): LogInput {
    return new LogInput(this.#sketches.openStream(this.options.maxLineBytes), this.options)
  }

  /** @internal the raw per-connection stream, for the TCP server's hot path and HTTP bodies. */
  [OPEN_NATIVE_STREAM](framing?: NativeFraming, ownCounts?: boolean): NativeLineStream {
    return this.#sketches.openStream(this.options.maxLineBytes, framing, ownCounts)
  }

  /** @internal counts an OTLP logs request (`protobuf` or `json`) in one native call; throws when it does not decode. */
  [COUNT_OTLP](body: Uint8Array, encoding: 'protobuf' | 'json'): NativeOtlpCounts {
    return this.#sketches.countOtlp(body, encoding, this.options.maxLineBytes)
  }

  /**
   * Makes everything counted so far durable in the store: merged into Redis, or written to the
   * snapshot file (a no-op for a plain memory store). Rejects if the store did not confirm; the
   * changes are kept and go with the next flush.
   */
  async flush(): Promise<void> {
    await this.#store.flush()
  }

  /**
   * Per-hour distinct users, the peak hour and this process's line counters, now. With the Redis
   * store the hours are read from Redis after a flush (so they include every server feeding the
   * same keys); it rejects while Redis is unreachable. After {@link LogConsumer.close} it answers
   * from the counts read at close (or rejects at once if the final flush failed).
   *
   * With `daily`, a query narrows the answer to a window of days (`from`/`to` as `YYYY-MM-DD`,
   * inclusive, or the last `days` days up to today in `timezone`), and `by: 'weekday'` adds the
   * Monday–Friday × 24 table (over the retained days when no window is given).
   *
   * @example
   * ```ts
   * const consumer = createConsumer({ daily: true, timezone: 'Europe/Berlin' })
   * const november = await consumer.stats({ from: '2026-11-01', to: '2026-11-30', by: 'weekday' })
   * november.weekdays?.[0]?.[9] // distinct users on November's Mondays at 09:00
   * ```
   * @throws {OptionError} for a malformed query, or a window without `daily`.
   */
  async stats(query: StatsQuery = {}): Promise<Stats> {
    return this.#answer(query, true)
  }

  /** @internal the answer without the groups (the live page reads those less often). */
  [STATS_WITHOUT_GROUPS](query: StatsQuery = {}): Promise<Stats> {
    return this.#answer(query, false)
  }

  async #answer(query: StatsQuery, withGroups: boolean): Promise<Stats> {
    let window = windowOf(query, this.options.timezone)
    const daily = this.#sketches.dailyInfo()
    if ((window !== undefined || query.by !== undefined) && daily === null) {
      throw new OptionError('daily', 'loghour: date windows need daily sketches: createConsumer({ daily: true }) (--daily)')
    }
    this.#advanceDays()
    if (query.by === 'weekday') window ??= this.#defaultWindow()
    const counts: WindowCounts =
      window === undefined ? await this.#store.hourCounts() : await this.#store.windowCounts(window, query.by === 'weekday')
    const stats = buildStats(counts.hours, this.#sketches.lineCounts())
    if (window !== undefined) stats.window = { from: dateOf(window.from), to: dateOf(window.to) }
    if (counts.weekdays) stats.weekdays = counts.weekdays
    if (counts.users) {
      stats.users = counts.users
      Object.assign(stats, sharesOf(counts.hours, counts.users, this.options.minUsers))
      stats.minUsers = this.options.minUsers
      stats.shareError = SHARE_ERROR
      if (counts.userWeekdays) stats.weekdayUsers = counts.userWeekdays
    }
    const groups = this.options.groupBy === undefined || !withGroups ? null : await this.#store.groupCounts(this.options.top)
    if (groups !== null && this.options.groupBy !== undefined) {
      stats.groupBy = this.options.groupBy
      stats.groups = groups.groups
      stats.groupValues = groups.values
      // Records past this process's bound (the values themselves are the store's, every server's).
      stats.otherRecords = this.#sketches.groupInfo()?.otherRecords ?? 0
    }
    if (daily !== null) stats.daily = this.#sketches.dailyInfo() ?? daily
    if (this.options.format === 'auto') stats.streams = this.streamReadings()
    return stats
  }

  /**
   * Counts one finished request without a log line: its client address, status and the time it
   * finished (epoch milliseconds, now by default), under this consumer's rule (a working-day 5xx
   * in `timezone`). For frameworks the middleware does not cover (Koa, Hono…). Returns whether it
   * counted; it shows in the line counts as a line would. Once `close()` was called it counts
   * nothing and returns false.
   * @example
   * ```ts
   * consumer.countRequest('10.0.121.67', 503) // true on a working day
   * ```
   */
  countRequest(ip: string, status: number, time: number = Date.now(), group?: string): boolean {
    // After close() began, nothing more reaches the store: nothing more is counted either.
    if (this.#closing !== undefined) return false
    if (typeof ip !== 'string' || !Number.isInteger(status) || status < 0 || status > 999 || !Number.isFinite(time)) {
      throw new OptionError(
        'countRequest',
        `loghour: countRequest(ip, status, time?) needs a string, an HTTP status and epoch milliseconds`,
      )
    }
    if (group !== undefined && typeof group !== 'string') {
      throw new OptionError('countRequest', 'loghour: countRequest(ip, status, time?, group?) needs the group as a string')
    }
    return this.#sketches.countRequest(time, ip, status, group)
  }

  /**
   * Request middleware for Node `http`, Express and Connect: counts each finished response (its
   * status, client address and the time it finished) without formatting or parsing a log line.
   * @example
   * ```ts
   * app.use(consumer.middleware({ trustProxy: 1 })) // Express behind one proxy of your own
   * ```
   * @throws {OptionError} for unknown or malformed options.
   */
  middleware(options?: MiddlewareOptions): RequestCounter {
    const { trustProxy } = resolveMiddlewareOptions(options)
    const sketches = this.#sketches
    const consumer = this
    // One listener for every response (it finds its request as `res.req`): nothing is
    // allocated per request but the listener's slot.
    const groupBy = this.options.groupBy
    function finished(this: ServerResponse): void {
      if (consumer.#closing !== undefined) return
      const group = groupBy === undefined ? undefined : requestGroup(this.req, groupBy)
      sketches.countRequest(Date.now(), clientAddress(this.req, trustProxy), this.statusCode, group)
    }
    return (_req, res, next) => {
      res.on('finish', finished)
      next?.()
    }
  }

  /**
   * With `groupBy`: this process's values (with `(none)` and `(other)`), the records that went to
   * `(other)` past `maxGroups`, and the memory the values and their sketches take; null without.
   */
  groupInfo(): { values: number; otherRecords: number; bytes: number } | null {
    return this.#sketches.groupInfo()
  }

  /** This process's line counts, now (synchronous, never touches the store). */
  lineCounts(): Pick<Stats, 'lines' | 'invalid'> {
    return lineCountsOf(this.#sketches.lineCounts())
  }

  /**
   * The local sketch of an hour as the {@link DENSE_SIZE}-byte (12304) dense value Redis would hold after `PFADD`ing
   * the same elements (`SET` it and `PFMERGE` it anywhere): everything this consumer counted,
   * with any store.
   */
  exportHour(hour: number): Buffer {
    if (!Number.isInteger(hour) || hour < 0 || hour >= HOURS) {
      throw new RangeError(`loghour: hour must be an integer from 0 to ${HOURS - 1}, got ${hour}`)
    }
    return this.#sketches.exportHour(hour)
  }

  /**
   * Accepts access-log records over TCP, the original service's protocol: one line stream per
   * connection (each deciding its format with `format: 'auto'`), all feeding this consumer. Resolves once listening.
   *
   * @example
   * ```ts
   * const server = await consumer.listen({ port: 2525 })
   * console.log(server.address())
   * await consumer.close() // stops accepting, drains connections, flushes
   * ```
   */
  async listen(options: ListenOptions = {}): Promise<LogServer> {
    const server = new LogServer(this, options)
    await server.listen()
    this.#servers.add(server)
    server.once('close', () => this.#servers.delete(server))
    return server
  }

  /**
   * Closes the TCP servers (draining their connections), ends the input (an unterminated final
   * line counts), flushes and releases the store. Rejects if the final flush failed.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await Promise.all([...this.#servers].map((s) => s.close()))
      if (this.#timer) clearInterval(this.#timer)
      if (!this.writableFinished && !this.destroyed) {
        await new Promise<void>((resolve, reject) => {
          this.once('error', reject)
          this.end(() => resolve())
        })
      }
      await this.#store.close()
    })()
    return this.#closing
  }
}

// Typed events, the ioredis way: declaration merging over the Writable's untyped ones.
export interface LogConsumer {
  on<E extends keyof LogConsumerEvents>(event: E, listener: (...args: LogConsumerEvents[E]) => void): this
  // biome-ignore lint/suspicious/noExplicitAny: the Writable's own events, as Node types them
  on(event: string | symbol, listener: (...args: any[]) => void): this
  once<E extends keyof LogConsumerEvents>(event: E, listener: (...args: LogConsumerEvents[E]) => void): this
  // biome-ignore lint/suspicious/noExplicitAny: the Writable's own events, as Node types them
  once(event: string | symbol, listener: (...args: any[]) => void): this
}

/**
 * Creates a {@link LogConsumer}.
 * @throws {OptionError} for an unknown option, a wrong type or an out-of-range value.
 */
export function createConsumer(options?: ConsumerOptions): LogConsumer {
  return new LogConsumer(options)
}

/**
 * Starts a TCP server feeding `consumer` (the same as `consumer.listen(options)`).
 *
 * @example
 * ```ts
 * const server = await listen(createConsumer({ store: { redis: 'redis://localhost:6379' } }), { port: 2525 })
 * ```
 */
export function listen(consumer: LogConsumer, options?: ListenOptions): Promise<LogServer> {
  return consumer.listen(options)
}
