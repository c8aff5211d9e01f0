import calculateSlot from 'cluster-key-slot'
import type { Cluster, ClusterOptions, Redis, RedisOptions } from 'ioredis'
import { type DayWindow, dateOf } from '../days.js'
import { dayStartMs, HOURS, type NativeDayHours, type NativeSketchSet } from '../native.js'
import type { RedisTls } from '../settings.js'
import { dayKey, deltaKey, hourKey } from './keys.js'
import { redactAddress } from './redact.js'
import { bitCount, type HourStore, OutageTracker, type StoreEvents, type WindowCounts } from './store.js'

/**
 * One atomic server-side step per hour: note whether the hour key exists, write the raw dense
 * sketch to a temporary key in the target's slot, merge it (register-wise max, so a repeat is
 * harmless), delete it, and for a day key set its expiry (ARGV[2], Unix ms; idempotent). Returns
 * 1 if the key existed before, 0 if not (so a key Redis lost is noticed). The temporary key is deleted even when PFMERGE fails (the target holds something
 * else), and a user without DEL permission only leaves it to expire. An error names the command
 * (Redis does not, for a command an ACL forbids inside a script).
 */
const MERGE_SCRIPT = `
local existed = redis.pcall('EXISTS', KEYS[1])
if type(existed) == 'table' then return redis.error_reply(existed.err .. ' (EXISTS)') end
local set = redis.pcall('SET', KEYS[2], ARGV[1], 'PX', 60000)
if set.err then return redis.error_reply(set.err .. ' (SET)') end
local merged = redis.pcall('PFMERGE', KEYS[1], KEYS[2])
redis.pcall('DEL', KEYS[2])
if type(merged) == 'table' and merged.err then return redis.error_reply(merged.err .. ' (PFMERGE)') end
if ARGV[2] then
  local expiry = redis.pcall('PEXPIREAT', KEYS[1], ARGV[2])
  if type(expiry) == 'table' and expiry.err then return redis.error_reply(expiry.err .. ' (PEXPIREAT)') end
end
return existed`

/** Redis's answer when a key holds a value that is not a HyperLogLog. */
const NOT_AN_HLL = /WRONGTYPE|not a valid HyperLogLog/
/** ioredis's words for a peer whose replies are not RESP (an HTTP server, a database, …). */
const NOT_RESP = /Unknown RESP type|Protocol error/
/** Redis's answer when the user's ACL forbids a command (inside a script it does not say which). */
const NO_PERMISSION = /NOPERM|can't run this command/

/** The message of an error (or of anything thrown). */
const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error))

/**
 * Says what a Redis error means for the user: names the keys Redis refuses because of what they
 * hold (the one error a user must fix), and a peer that is not a Redis server.
 */
export function explain(error: unknown, keys: string[] = []): Error {
  const message = messageOf(error)
  if (NOT_RESP.test(message)) {
    return new Error('the server does not speak the Redis protocol (is this the address of a Redis server?)', { cause: error })
  }
  if (NO_PERMISSION.test(message)) {
    const command =
      /\((EXISTS|SET|PFMERGE|PEXPIREAT)\)$/.exec(message)?.[1] ??
      /'(\w+)' command/.exec(message)?.[1]?.toUpperCase() ??
      'a command it needs'
    return new Error(
      `the Redis user may not run ${command} (${message}); grant the rights listed under "Redis permissions" in the README`,
      { cause: error },
    )
  }
  if (!NOT_AN_HLL.test(message) || keys.length === 0) return error instanceof Error ? error : new Error(message)
  const why = message.split('. ')[0]!.replace(/\.$/, '')
  const what =
    keys.length === 1
      ? `${keys[0]} holds a value that is not a HyperLogLog; delete or rename it`
      : `${keys.join(', ')} hold values that are not HyperLogLogs; delete or rename them`
  return new Error(`${what} (${why})`, { cause: error })
}

/**
 * The answers of one command per key, as a single error: keys refused for what they hold are
 * named together; otherwise the first error stands for all.
 */
export function combineErrors(failures: { key: string; error: unknown }[]): Error | undefined {
  if (failures.length === 0) return undefined
  const wrongType = failures.filter((f) => NOT_AN_HLL.test(messageOf(f.error)))
  if (wrongType.length > 0)
    return explain(
      wrongType[0]!.error,
      wrongType.map((f) => f.key),
    )
  return explain(failures[0]!.error)
}

type MergingClient = (Redis | Cluster) & {
  loghourMerge(target: string, temp: string, sketch: Buffer, expireAtMs?: number): Promise<number>
}

/** One key's merge of a flush: an all-time hour, or with `day` one day's hour (expiring). */
interface Merge {
  key: string
  hour: number
  sketch: Buffer
  day?: number
  expireAtMs?: number
}

/**
 * ioredis settings for a connection the store owns: no offline queue and no re-sending of
 * unanswered commands (the store keeps unconfirmed changes itself, in fixed memory), and
 * exponential backoff between reconnection attempts capped at about a second, so a restarted
 * Redis is found again quickly (also by a final flush at shutdown); a connection attempt a
 * second per server costs Redis nothing.
 */
export const OWNED_CLIENT_OPTIONS: RedisOptions = Object.freeze({
  enableOfflineQueue: false,
  autoResendUnfulfilledCommands: false,
  // 0: commands in flight are rejected when their connection drops. With any other value ioredis
  // may reconnect first and then forget them without settling their promises.
  maxRetriesPerRequest: 0,
  // CLIENT SETNAME loghour (in CLIENT LIST); not CLIENT SETINFO: one right fewer to grant.
  connectionName: 'loghour',
  disableClientInfo: true,
  retryStrategy: (times: number) => Math.min(50 * 2 ** Math.min(times - 1, 5), 1000) + Math.floor(Math.random() * 100),
})

/**
 * An idle store asks Redis something at least this often (a `PING` when nothing else was
 * answered), so an outage shows (`storeDown`, `/readyz`, `loghour_store_up`) within seconds even
 * when no line arrives.
 */
const HEALTH_CHECK_MS = 2000

/** Rejects after `ms`, leaving the work running (its completion is tracked separately). */
function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer from Redis within ${ms} ms`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/** Settles when `client` is ready or its first connection attempt failed, or after `ms`. */
function firstAttempt(client: Redis | Cluster, ms: number): Promise<void> {
  if (client.status === 'ready') return Promise.resolve()
  return new Promise<void>((resolve) => {
    const events = ['ready', 'error', 'close', 'end'] as const
    const done = () => {
      clearTimeout(timer)
      for (const e of events) client.off(e, done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    for (const e of events) client.once(e, done)
  })
}

/** Bit mask of the hours set in `mask`, as key names. */
const hoursOf = (mask: number): number[] => Array.from({ length: HOURS }, (_, h) => h).filter((h) => (mask & (1 << h)) !== 0)

/** What a flush asks Redis besides the merges, to notice that Redis lost data. */
interface Checks {
  /** The server's run_id (once per connection): another one means another instance. */
  identity: boolean
  /** Hours merged before and not merged now, whose keys must still exist. */
  present: number
}

/** What one round trip of merges brought back. */
interface MergeReply {
  /** The server's run_id, when asked for and allowed. */
  runId: string | undefined
  /** Some of the keys that must exist do not. */
  absent: boolean
  /** Hours merged, and of those the ones whose key did not exist before. */
  merged: number
  created: number
  failures: { key: string; error: unknown }[]
  failedMask: number
  /** Day keys not confirmed: merged again with the next flush. */
  failedDays: NativeDayHours[]
}

export interface RedisStoreOptions {
  keyPrefix: string
  /** Longest wait for Redis's answer to a flush or a count. */
  timeoutMs: number
  /** How long `close()` retries the final flush. */
  closeTimeoutMs: number
  events: StoreEvents
  /** For a `rediss://` URL: a CA to trust, a client certificate and key (PEM). */
  tls?: RedisTls
  /** Replicas that must hold a merge (`WAIT`); undefined: 1 where the node has replicas, 0 otherwise. */
  minReplicas?: number | undefined
  /** With per-day sketches: how long day keys live, on which calendar. */
  daily?: { retainDays: number; timezone: string | undefined }
}

/**
 * ioredis options of a Redis Cluster the store owns, from its startup nodes (`host:port` or
 * URLs, whose user, password and `rediss://` apply to every node): the owned-client rules for
 * each node, no offline queue for the cluster, and slot moves and failovers retried briefly
 * (a merge that still fails is kept and sent with the next flush).
 */
export function clusterOptions(
  nodes: string[],
  timeoutMs: number,
  tls: RedisTls | undefined,
): { startup: { host: string; port: number }[]; options: ClusterOptions } {
  const urls = nodes.map((n) => new URL(/^rediss?:\/\//i.test(n) ? n : `redis://${n}`))
  const secure = urls.some((u) => u.protocol === 'rediss:')
  const auth = urls.find((u) => u.username !== '' || u.password !== '')
  const { retryStrategy, ...perNode } = OWNED_CLIENT_OPTIONS
  return {
    startup: urls.map((u) => ({ host: u.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(u.port || 6379) })),
    options: {
      enableOfflineQueue: false,
      scaleReads: 'master',
      maxRedirections: 16,
      retryDelayOnFailover: 100,
      retryDelayOnClusterDown: 100,
      retryDelayOnTryAgain: 100,
      slotsRefreshTimeout: timeoutMs,
      clusterRetryStrategy: retryStrategy,
      // Nodes announce IP addresses: TLS checks the certificate against those, as given.
      ...(secure ? { dnsLookup: (address: string, callback: (e: null, a: string) => void) => callback(null, address) } : {}),
      redisOptions: {
        ...perNode,
        connectTimeout: timeoutMs,
        ...(auth?.username ? { username: decodeURIComponent(auth.username) } : {}),
        ...(auth?.password ? { password: decodeURIComponent(auth.password) } : {}),
        ...(secure ? { tls: { ...tls } } : {}),
      },
    },
  }
}

/**
 * Keeps the hourly counts in Redis (`<prefix>0` … `<prefix>23`). The consumer's sketches keep
 * everything this process counted; a flush merges each hour that changed since the last
 * confirmed flush (register-wise max, so sending the whole hour equals sending the change).
 * Unless Redis confirms, the hour stays marked for the next flush. When Redis turns out to have
 * lost data (a restart without persistence, another instance, a missing key), everything is
 * merged again.
 */
export class RedisStore implements HourStore {
  readonly kind = 'redis'
  /** The client; for a URL, ioredis is loaded on first use (it costs ~60 ms of start-up). */
  readonly #client: Promise<MergingClient>
  readonly #owned: boolean
  readonly #sketches: NativeSketchSet
  readonly #options: RedisStoreOptions
  readonly #outage: OutageTracker
  /** Where Redis is, as it may be shown (no password). */
  readonly #where: string
  /** Settles once the first connection attempt is over. */
  #firstAttempt: Promise<void> = Promise.resolve()
  /** The latest connection-level error: why Redis is unreachable. */
  #lastError: Error | undefined
  /** Counts connection losses: commands of an earlier connection will never be answered. */
  #connection = 0
  /** Round trips written on the current connection whose answer has not arrived (even if we stopped waiting). */
  #unanswered = 0
  /** The connection on which the server's identity was last checked. */
  #identityChecked = -1
  #runId: string | undefined
  /** Hours merged at least once into the current Redis instance. */
  #merged = 0
  #running: Promise<void> | undefined
  #queued: Promise<void> | undefined
  #closed = false
  /** When Redis last answered anything (a merge, a count, a PING). */
  #answeredAt = 0
  /** Flushes an idle store now and then, which PINGs Redis (see {@link HEALTH_CHECK_MS}). */
  readonly #healthCheck: NodeJS.Timeout
  /** After close: the final counts, or why there are none. */
  #final: { hours: number[] } | { error: Error } | undefined

  constructor(target: string | string[] | Redis | Cluster, sketches: NativeSketchSet, options: RedisStoreOptions) {
    this.#owned = typeof target === 'string' || Array.isArray(target)
    this.#sketches = sketches
    this.#options = options
    this.#outage = new OutageTracker(options.events)
    this.#where =
      typeof target === 'string'
        ? redactAddress(target)
        : Array.isArray(target)
          ? `the Redis Cluster at ${target.map(redactAddress).join(',')}`
          : describeClient(target)
    const prepare = (client: Redis | Cluster): MergingClient => {
      // Also on a user's client: the cause of an outage is reported with the failed flushes. The
      // first error of a connection attempt is the cause; the rest (EPIPE, …) are consequences.
      const consequence = (e: NodeJS.ErrnoException) => e.code === 'EPIPE' || e.code === 'ECONNRESET'
      let cause: NodeJS.ErrnoException | undefined
      client.on('reconnecting', () => (cause = undefined))
      const noted = (error: NodeJS.ErrnoException) => {
        if (cause === undefined || (consequence(cause) && !consequence(error))) cause = error
        this.#lastError = cause
      }
      client.on('error', noted)
      client.on('node error', noted) // a cluster's: one node's connection failed
      if (!('loghourMerge' in client)) client.defineCommand('loghourMerge', { numberOfKeys: 2, lua: MERGE_SCRIPT })
      // A closed connection answers nothing more, whatever the client does with its commands
      // (a user's client may drop them unsettled); merges are idempotent, so sending again is safe.
      const reconnected = () => {
        this.#connection++
        this.#unanswered = 0
      }
      client.on('close', reconnected)
      // A cluster's nodes come and go under one client: a failed node's unanswered merges are
      // not waited for (they are sent again; a late answer is harmless).
      client.on('-node', reconnected)
      client.on('node error', reconnected)
      client.on('ready', () => (this.#lastError = undefined))
      this.#firstAttempt = firstAttempt(client, options.timeoutMs)
      if (client.status === 'wait') client.connect().catch(() => {}) // lazyConnect: connect now
      return client as MergingClient
    }
    this.#client =
      typeof target === 'string'
        ? import('ioredis').then(({ Redis: Client }) =>
            prepare(
              new Client(target, {
                ...OWNED_CLIENT_OPTIONS,
                connectTimeout: options.timeoutMs,
                // Explicit TLS options win over the plain `tls: true` a rediss:// URL implies.
                ...(options.tls ? { tls: { ...options.tls } } : {}),
              }),
            ),
          )
        : Array.isArray(target)
          ? import('ioredis').then(({ Cluster: Client }) => {
              const { startup, options: cluster } = clusterOptions(target, options.timeoutMs, options.tls)
              return prepare(new Client(startup, cluster))
            })
          : Promise.resolve(prepare(target))
    // A failure is reported where the client is used (flush, stats, close), not as an unhandled rejection.
    this.#client.catch(() => {})
    this.#healthCheck = setInterval(() => {
      if (this.#running === undefined && Date.now() - this.#answeredAt >= HEALTH_CHECK_MS) this.flush().catch(() => {})
    }, HEALTH_CHECK_MS)
    this.#healthCheck.unref()
  }

  /**
   * Merges every local change into Redis. One flush runs at a time; callers arriving during a
   * flush share the one that follows it (so periodic flushes never pile up behind a slow
   * Redis). Rejects if Redis did not confirm every merge; the changes go with the next flush.
   */
  flush(): Promise<void> {
    if (this.#final) return 'error' in this.#final ? Promise.reject(this.#final.error) : Promise.resolve()
    if (this.#running === undefined) {
      const run = this.#flushOnce()
      this.#running = run.finally(() => (this.#running = undefined))
      return this.#running
    }
    this.#queued ??= this.#running
      .catch(() => {})
      .then(() => {
        this.#queued = undefined
        return this.flush()
      })
    return this.#queued
  }

  /** The client when it is connected; otherwise why not, at once (after the first attempt). */
  async #ready(): Promise<MergingClient> {
    const client = await this.#client
    if (client.status !== 'ready') await this.#firstAttempt
    if (client.status === 'ready') return client
    const cause = this.#lastError
      ? explain(this.#lastError).message
      : client.status === 'connect'
        ? 'connected, but no answer to the handshake (Redis stalled or busy loading?)'
        : `not connected (${client.status})`
    throw new Error(`Redis at ${this.#where} is unreachable: ${cause}`, { cause: this.#lastError })
  }

  async #flushOnce(): Promise<void> {
    const started = Date.now()
    let hours = 0
    let dayHours = 0
    let bytes = 0
    let answered = false
    // A second pass only when the first found that Redis lost what it had.
    for (let pass = 0; pass < 2; pass++) {
      // Nothing changed: nothing can be lost, and Redis is not asked, except to identify a new
      // connection's server (a restart is noticed while idle too), and at close, where Redis
      // must show that it still holds what it confirmed.
      const current = await this.#client
      const identify = () => this.#identityChecked !== this.#connection && !isCluster(current)
      const verify = (current.status === 'ready' && identify()) || (this.#closed && this.#merged !== 0)
      if (this.#sketches.dirtyHours() === 0 && !this.#sketches.hasDirtyDays() && !verify) {
        // Idle: still ask Redis now and then, or an outage would show only with the next line.
        if (pass === 0 && Date.now() - this.#answeredAt >= HEALTH_CHECK_MS) answered = await this.#probe()
        break
      }
      let client: MergingClient
      try {
        client = await this.#ready()
      } catch (error) {
        throw this.#failed(error as Error)
      }
      if (this.#unanswered > 0) {
        // Redis has not answered the previous flush: sending more would only queue up.
        throw this.#failed(new Error(`Redis at ${this.#where} has not answered the previous flush (stalled?)`))
      }
      const dirty = this.#sketches.takeDirty()
      const dirtyDays = this.#sketches.takeDirtyDays()
      const connection = this.#connection
      // A single Redis also confirms that the keys merged before and not merged now are there.
      const checks: Checks = { identity: identify(), present: isCluster(client) ? 0 : this.#merged & ~dirty }
      const merges = [...this.#hourMerges(dirty), ...this.#dayMerges(dirtyDays)]
      let reply: MergeReply
      try {
        reply = await this.#send(client, merges, checks)
      } catch (error) {
        this.#sketches.markDirty(dirty)
        this.#sketches.markDirtyDays(dirtyDays)
        throw this.#failed(explain(error))
      }
      answered = true
      this.#answeredAt = Date.now()
      if (checks.identity) this.#identityChecked = connection
      this.#sketches.markDirty(reply.failedMask)
      this.#sketches.markDirtyDays(reply.failedDays)
      const failedDayHours = reply.failedDays.reduce((n, p) => n + bitCount(p.hours), 0)
      hours += bitCount(dirty) - bitCount(reply.failedMask)
      dayHours += merges.length - bitCount(dirty) - failedDayHours
      bytes += merges.reduce((n, m) => n + m.sketch.length, 0)
      const lost = this.#lost(reply)
      this.#merged |= reply.merged
      const failure = combineErrors(reply.failures)
      if (failure) throw this.#failed(failure)
      if (!lost) break
      // Everything this process counted goes again: idempotent, and the lost part comes back.
      this.#merged = 0
      this.#sketches.markDirty(2 ** HOURS - 1)
      this.#sketches.markDirtyDays(this.#sketches.dayHours())
      this.#options.events.reset({ reason: lost, hours: hoursOf(this.#sketches.dirtyHours()).length })
    }
    if (answered) this.#outage.succeeded({ hours, dayHours, bytes, ms: Date.now() - started })
  }

  /** A PING of an idle store: true once answered; an outage otherwise (thrown, as a flush's). */
  async #probe(): Promise<boolean> {
    try {
      await this.ping()
    } catch (error) {
      this.#outage.failed(error as Error)
      throw error
    }
    return true
  }

  /** The all-time hours of `mask`, each as one merge. */
  #hourMerges(mask: number): Merge[] {
    return hoursOf(mask).map((hour) => ({ key: hourKey(this.#options.keyPrefix, hour), hour, sketch: this.#sketches.exportHour(hour) }))
  }

  /** The day keys of `pairs`, each as one merge that also sets the key's expiry. */
  #dayMerges(pairs: NativeDayHours[]): Merge[] {
    const daily = this.#options.daily
    if (!daily) return []
    return pairs.flatMap(({ day, hours }) => {
      const date = dateOf(day)
      // The key lives through day + retainDays on the team's calendar.
      const expireAtMs = dayStartMs(day + daily.retainDays + 1, daily.timezone)
      return hoursOf(hours).map((hour) => ({
        key: dayKey(this.#options.keyPrefix, hour, date),
        hour,
        day,
        expireAtMs,
        sketch: this.#sketches.exportDayHour(day, hour),
      }))
    })
  }

  /** Why what Redis answered shows that it lost data this process merged before, or undefined. */
  #lost(reply: MergeReply): string | undefined {
    const previous = this.#runId
    if (reply.runId !== undefined) this.#runId = reply.runId
    if (previous !== undefined && reply.runId !== undefined && reply.runId !== previous) {
      return `Redis at ${this.#where} is another instance now (run_id ${previous.slice(0, 8)}… → ${reply.runId.slice(0, 8)}…: restarted or failed over)`
    }
    const missing = hoursOf(reply.created & this.#merged)
    if (missing.length > 0 || reply.absent) {
      const which = missing.length > 0 ? missing.map((h) => hourKey(this.#options.keyPrefix, h)).join(', ') : 'hour keys it had'
      return `Redis at ${this.#where} no longer has ${which} (restarted empty, flushed or evicted)`
    }
    return undefined
  }

  /** One round trip: the checks asked for, and one merge per key. */
  async #send(client: MergingClient, sketches: Merge[], checks: Checks): Promise<MergeReply> {
    const prefix = this.#options.keyPrefix
    const keys = sketches.map(({ key }) => key)
    const present = hoursOf(checks.present).map((h) => hourKey(prefix, h))
    const commands: ((c: MergingClient) => unknown)[] = []
    if (checks.identity) commands.push((c) => c.info('server'))
    if (present.length > 0) commands.push((c) => c.exists(...present))
    const cluster = isCluster(client)
    const { minReplicas } = this.#options
    const waitMs = Math.max(10, Math.floor(this.#options.timeoutMs / 2))
    // A single Redis: how many replicas it has decides the default, read in the same round trip.
    const askReplicas = !cluster && minReplicas === undefined && sketches.length > 0
    if (askReplicas) commands.push((c) => c.info('replication'))
    for (const { key, sketch, expireAtMs } of sketches) {
      commands.push((c) =>
        expireAtMs === undefined ? c.loghourMerge(key, deltaKey(key), sketch) : c.loghourMerge(key, deltaKey(key), sketch, expireAtMs),
      )
    }
    const connection = this.#connection
    this.#unanswered++
    // A cluster: each master's merges and their WAIT on that master's own connection.
    const merged = cluster ? mergeOnMasters(client as Cluster, sketches, minReplicas, waitMs, this.#options.timeoutMs) : undefined
    const sent = (merged ?? roundTrip(client, commands, this.#options.timeoutMs)).then(async (answers) => {
      if (sketches.length === 0 || cluster) return answers
      // WAIT on the connection that merged: it counts the replicas holding every write before it.
      const replicas = askReplicas
        ? Number(/connected_slaves:(\d+)/.exec(String(answers.at(-sketches.length - 1)?.[1]))?.[1] ?? 0)
        : minReplicas!
      const merges = answers.slice(answers.length - sketches.length)
      if (replicas > 0) {
        const acks = Number(await (client as Redis).wait(replicas, waitMs))
        if (acks < replicas) {
          const short = new Error(`the merge reached ${acks} of ${replicas} replicas within ${waitMs} ms (WAIT); kept to merge again`)
          for (const answer of merges) if (!answer[0]) answer[0] = short
        }
      }
      return [...answers.slice(0, answers.length - sketches.length - (askReplicas ? 1 : 0)), ...merges] as [unknown, unknown][]
    })
    void sent
      .catch(() => {})
      .finally(() => {
        if (connection === this.#connection) this.#unanswered--
      })
    const answers = await withTimeout(sent, this.#options.timeoutMs, 'merge')
    const reply: MergeReply = { runId: undefined, absent: false, merged: 0, created: 0, failures: [], failedMask: 0, failedDays: [] }
    if (checks.identity) {
      const [error, info] = answers.shift()!
      // An ACL without INFO only hides restarts; missing keys are still noticed.
      if (!error) reply.runId = /run_id:([0-9a-f]+)/.exec(String(info))?.[1]
    }
    if (present.length > 0) {
      const [error, count] = answers.shift()!
      if (error) throw error
      reply.absent = Number(count) < present.length
    }
    answers.forEach(([error, existed], i) => {
      const { hour, day } = sketches[i]!
      const bit = 1 << hour
      if (day !== undefined) {
        if (error) {
          reply.failures.push({ key: keys[i]!, error })
          reply.failedDays.push({ day, hours: bit })
        }
        return
      }
      if (error) {
        reply.failures.push({ key: keys[i]!, error })
        reply.failedMask |= bit
      } else {
        reply.merged |= bit
        if (Number(existed) === 0) reply.created |= bit
      }
    })
    return reply
  }

  #failed(error: Error): Error {
    this.#outage.failed(error)
    return new Error(`loghour: Redis merge not confirmed (changes kept locally): ${error.message}`, { cause: error })
  }

  /** Flushes, then reads `PFCOUNT` of the 24 hour keys (one round trip). After close: the counts read then. */
  async hourCounts(): Promise<number[]> {
    if (this.#final) {
      if ('error' in this.#final) throw this.#final.error
      return this.#final.hours
    }
    await this.flush()
    const counts = await this.#counts(await this.#ready())
    this.#answeredAt = Date.now()
    return counts
  }

  /** A PING within the timeout (readiness probes: an idle store is not asked otherwise). */
  async ping(): Promise<void> {
    if (this.#final) throw new Error('the store is closed')
    const client = await this.#ready()
    try {
      await withTimeout(client.ping(), this.#options.timeoutMs, 'ping')
    } catch (error) {
      throw explain(error as Error)
    }
    this.#answeredAt = Date.now()
  }

  #counts(client: MergingClient): Promise<number[]> {
    return readHourCounts(client, this.#options.keyPrefix, this.#options.timeoutMs)
  }

  /**
   * Flushes, then the window's hours: `PFCOUNT` of each hour's day keys (one round trip); with
   * `byWeekday` also the table, one `PFCOUNT` per (weekday, hour) of that weekday's day keys, in
   * the same round trip. Read-only: a count of several keys unites them without writing any key,
   * so a query never leaves anything behind, whatever the user may run.
   */
  async windowCounts(window: DayWindow, byWeekday: boolean): Promise<WindowCounts> {
    const prefix = this.#options.keyPrefix
    const days = daysOf(window)
    const keysOf = (hour: number, ds: number[]) => ds.map((day) => dayKey(prefix, hour, dateOf(day)))
    const hours = Array.from({ length: HOURS }, (_, hour) => keysOf(hour, days))
    if (!byWeekday) return { hours: await this.#unions(hours) }
    const byDay = Array.from({ length: 5 }, (_, w) => days.filter((day) => (((day + 3) % 7) + 7) % 7 === w))
    const counts = await this.#unions([...hours, ...byDay.flatMap((ds) => Array.from({ length: HOURS }, (_, h) => keysOf(h, ds)))])
    return { hours: counts.slice(0, HOURS), weekdays: Array.from({ length: 5 }, (_, w) => counts.slice((w + 1) * HOURS, (w + 2) * HOURS)) }
  }

  /** The client for a read of the day keys, after a flush (so it includes this process's lines). */
  async #queryClient(): Promise<MergingClient> {
    if (this.#final) throw 'error' in this.#final ? this.#final.error : new Error('the store is closed')
    await this.flush()
    return this.#ready()
  }

  /** `PFCOUNT` of each key list (0 for an empty one), after a flush, in one round trip. */
  async #unions(keyLists: string[][]): Promise<number[]> {
    const client = await this.#queryClient()
    const asked = keyLists.map((keys, i) => [keys, i] as const).filter(([keys]) => keys.length > 0)
    const answers = await withTimeout(
      roundTrip(
        client,
        asked.map(
          ([keys]) =>
            (c: MergingClient) =>
              c.pfcount(...keys),
        ),
        this.#options.timeoutMs,
      ),
      this.#options.timeoutMs,
      'PFCOUNT',
    )
    const failure = combineErrors(answers.flatMap(([error], i) => (error ? [{ key: asked[i]![0][0]!, error }] : [])))
    if (failure) throw failure
    const counts = keyLists.map(() => 0)
    answers.forEach(([, n], i) => {
      counts[asked[i]![1]] = Number(n)
    })
    return counts
  }

  /**
   * Final flush, retried with backoff until `closeTimeoutMs` passes, then the final counts are
   * read (for `hourCounts()` after close) and the connection it owns is closed. Rejects if
   * changes could not be merged.
   */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    clearInterval(this.#healthCheck)
    const { closeTimeoutMs, timeoutMs } = this.#options
    const deadline = Date.now() + closeTimeoutMs
    try {
      for (let delay = 50; ; delay = Math.min(delay * 2, 1000)) {
        try {
          // Each attempt ends by the deadline, even one waiting for a Redis that does not answer.
          await withTimeout(this.flush(), closeTimeoutMs === 0 ? timeoutMs : Math.max(deadline - Date.now(), 1), 'final flush')
          break
        } catch (error) {
          this.#options.events.closeAttemptFailed(error as Error)
          // The last attempt is made at the deadline itself.
          const wait = Math.min(delay, deadline - Date.now())
          if (wait <= 0) {
            this.#final = { error: error as Error }
            throw error
          }
          await new Promise((r) => setTimeout(r, wait))
        }
      }
      try {
        this.#final = { hours: await this.#counts(await this.#ready()) }
      } catch (error) {
        this.#final = { error: new Error(`loghour: changes merged, but the final counts could not be read: ${(error as Error).message}`) }
      }
    } finally {
      if (this.#owned) (await this.#client).disconnect()
    }
  }
}

/** The day numbers of a window, in order. */
const daysOf = ({ from, to }: DayWindow): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i)

const isCluster = (client: Redis | Cluster): client is Cluster => (client as Cluster).isCluster === true

/**
 * In a cluster: the merges grouped by the master that serves their slot (as the client last saw
 * the topology), each group in one pipeline on that master's own connection, ending with one
 * `WAIT` for `minReplicas` (default: that master's replicas, as seen before sending). A `WAIT`
 * counts the replicas holding every write of its connection, so it must follow the merges on
 * the node that ran them: through the cluster client a merge and its `WAIT` can reach different
 * nodes during a failover, and a `WAIT` on the promoted replica would confirm a merge its dead
 * master took with it. Merges a master did not confirm come back as errors (kept, merged again);
 * a slot that moved makes the client refresh its map for the next flush.
 */
async function mergeOnMasters(
  cluster: Cluster,
  merges: Merge[],
  minReplicas: number | undefined,
  waitMs: number,
  timeoutMs: number,
): Promise<[unknown, unknown][]> {
  const answers: [unknown, unknown][] = merges.map(() => [new Error('not sent'), null])
  const groups = new Map<string, { replicas: number; at: number[] }>()
  merges.forEach(({ key }, i) => {
    const [master = '', ...replicas] = cluster.slots[calculateSlot(key)] ?? []
    const group = groups.get(master) ?? { replicas: 0, at: [] }
    group.replicas = Math.max(group.replicas, minReplicas ?? replicas.length)
    group.at.push(i)
    groups.set(master, group)
  })
  let moved = false
  await Promise.all(
    [...groups].map(async ([master, { replicas, at }]) => {
      const node = cluster.nodes('master').find((n) => `${n.options.host}:${n.options.port}` === master)
      if (!node) {
        moved = true
        const error = new Error(`no master known for the slot of ${merges[at[0]!]!.key}; kept to merge again`)
        for (const i of at) answers[i] = [error, null]
        return
      }
      // The pool's node clients are plain clients: the merge command is defined on each once.
      if (!('loghourMerge' in node)) node.defineCommand('loghourMerge', { numberOfKeys: 2, lua: MERGE_SCRIPT })
      const pipeline = node.pipeline() as unknown as MergingClient & { exec(): Promise<[Error | null, unknown][] | null> }
      for (const i of at) {
        const { key, sketch, expireAtMs } = merges[i]!
        if (expireAtMs === undefined) pipeline.loghourMerge(key, deltaKey(key), sketch)
        else pipeline.loghourMerge(key, deltaKey(key), sketch, expireAtMs)
      }
      if (replicas > 0) pipeline.wait(replicas, waitMs)
      let results: [Error | null, unknown][]
      try {
        results = (await withTimeout(pipeline.exec(), timeoutMs, 'merge')) ?? []
      } catch (error) {
        for (const i of at) answers[i] = [error, null]
        return
      }
      const waited = replicas > 0 ? results[at.length] : undefined
      const acks = waited && !waited[0] ? Number(waited[1]) : 0
      const short =
        replicas > 0 && acks < replicas
          ? (waited?.[0] ?? new Error(`the merge reached ${acks} of ${replicas} replicas within ${waitMs} ms (WAIT); kept to merge again`))
          : undefined
      at.forEach((i, k) => {
        const [error, value] = results[k] ?? [new Error('no answer'), null]
        if (error && /MOVED|ASK|CLUSTERDOWN|TRYAGAIN/.test(error.message)) moved = true
        answers[i] = error || short ? [error ?? short, null] : [null, value]
      })
    }),
  )
  if (moved) cluster.refreshSlotsCache()
  return answers
}

/**
 * `PFCOUNT` of the hour keys `<prefix>0` … `<prefix>23` in one round trip (a pipeline; per-key
 * commands in a cluster), with a bounded wait. A key that is not a HyperLogLog is named in the error.
 *
 * @example
 * ```ts
 * const hours = await readHourCounts(new Redis(), 'error_hour_') // 24 numbers
 * ```
 */
export async function readHourCounts(client: Redis | Cluster, prefix: string, timeoutMs = 5000): Promise<number[]> {
  const keys = Array.from({ length: HOURS }, (_, hour) => hourKey(prefix, hour))
  const answers = await withTimeout(
    roundTrip(
      client as MergingClient,
      keys.map((key) => (c: MergingClient) => c.pfcount(key)),
      timeoutMs,
    ),
    timeoutMs,
    'PFCOUNT',
  )
  const failure = combineErrors(answers.flatMap(([error], i) => (error ? [{ key: keys[i]!, error }] : [])))
  if (failure) throw failure
  return answers.map(([, n]) => Number(n))
}

/**
 * Runs `commands` in one round trip and returns their answers in order, each as
 * `[error, value]`: a pipeline on a single Redis (one write, one answer), one command per hour key
 * in a cluster (each routed to its key's node; a pipeline must stay on one node).
 */
async function roundTrip(
  client: MergingClient,
  commands: ((c: MergingClient) => unknown)[],
  timeoutMs: number,
): Promise<[unknown, unknown][]> {
  if (isCluster(client)) {
    // Each command on its own clock: one that a failover leaves unsettled (its node gone while it
    // waited for a slot refresh) fails after the timeout instead of holding up every later flush.
    const results = await Promise.allSettled(commands.map((run) => withTimeout(Promise.resolve(run(client)), timeoutMs, 'cluster command')))
    return results.map((r) => (r.status === 'fulfilled' ? [null, r.value] : [r.reason, null]))
  }
  const pipeline = (client as Redis).pipeline()
  for (const run of commands) run(pipeline as unknown as MergingClient)
  const answers = (await pipeline.exec()) ?? []
  if (answers.length !== commands.length) throw new Error('Redis answered a round trip incompletely')
  return answers as [unknown, unknown][]
}

/** A user's client, as it may be shown. */
function describeClient(client: Redis | Cluster): string {
  if (isCluster(client)) return 'the Redis Cluster client given'
  const { host, port, path } = (client as Redis).options ?? {}
  return path ? String(path) : `${host ?? 'localhost'}:${port ?? 6379}`
}
