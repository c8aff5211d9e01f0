import type { Cluster, Redis, RedisOptions } from 'ioredis'
import type { NativeSketchSet } from '../native.js'
import { deltaKey, hourKey } from './keys.js'
import { OutageTracker, type HourStore, type StoreEvents } from './store.js'

/**
 * One atomic server-side step per hour: write the raw dense delta to a temporary key in the
 * target's slot, merge it (register-wise max, so a repeat is harmless), delete it. The temporary
 * key is deleted even when PFMERGE fails (the target holds something else), and then the error
 * is returned; the expiry is a last resort only.
 */
const MERGE_SCRIPT = `
redis.call('SET', KEYS[2], ARGV[1], 'PX', 60000)
local merged = redis.pcall('PFMERGE', KEYS[1], KEYS[2])
redis.call('DEL', KEYS[2])
if type(merged) == 'table' and merged.err then return merged end
return 1`

/** Redis's answer when a key holds a value that is not a HyperLogLog. */
const NOT_AN_HLL = /WRONGTYPE|not a valid HyperLogLog/

/** Names the key when Redis refuses it because of what it holds: the one error a user must fix. */
export function explain(error: unknown, key: string): Error {
  const message = error instanceof Error ? error.message : String(error)
  if (!NOT_AN_HLL.test(message)) return error instanceof Error ? error : new Error(message)
  return new Error(`${key} holds a value that is not a HyperLogLog; delete or rename it (${message.split('. ')[0]!.replace(/\.$/, '')})`, { cause: error })
}

type MergingClient = (Redis | Cluster) & {
  loghourMerge(target: string, temp: string, delta: Buffer): Promise<number>
}

/**
 * ioredis settings for a connection the store owns: no offline queue and no re-sending of
 * unanswered commands (the store keeps undelivered deltas itself, in fixed memory), and
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
  connectionName: 'loghour',
  retryStrategy: (times: number) => Math.min(50 * 2 ** Math.min(times - 1, 5), 1000) + Math.floor(Math.random() * 100),
})

/** Rejects after `ms`, leaving the command running (its completion is tracked separately). */
function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer from Redis within ${ms} ms`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

export interface RedisStoreOptions {
  keyPrefix: string
  /** Longest wait for Redis's answer to a flush or a count. */
  timeoutMs: number
  /** How long `close()` retries the final flush. */
  closeTimeoutMs: number
  events: StoreEvents
}

/**
 * Keeps the hourly counts in Redis (`<prefix>0` … `<prefix>23`): the consumer's sketches hold only
 * the changes since the last confirmed merge. A flush takes each changed hour's registers out
 * (the live sketch starts empty) and merges them into Redis; unless Redis confirms, they are
 * merged back, so nothing counted during a flush or an outage is lost.
 */
export class RedisStore implements HourStore {
  readonly kind = 'redis'
  /** The client; for a URL, ioredis is loaded on first use (it costs ~60 ms of start-up). */
  readonly #client: Promise<MergingClient>
  readonly #owned: boolean
  readonly #sketches: NativeSketchSet
  readonly #options: RedisStoreOptions
  /** Merge commands written on the current connection whose answer has not arrived (even if we stopped waiting). */
  #unanswered = 0
  /** Counts connection losses: commands of an earlier connection will never be answered. */
  #connection = 0
  #running: Promise<void> | undefined
  readonly #outage: OutageTracker
  #wasReady = false
  #closed = false

  constructor(target: string | Redis | Cluster, sketches: NativeSketchSet, options: RedisStoreOptions) {
    this.#owned = typeof target === 'string'
    this.#sketches = sketches
    this.#options = options
    this.#outage = new OutageTracker(options.events)
    const prepare = (client: Redis | Cluster): MergingClient => {
      if (this.#owned) client.on('error', () => {}) // outages are reported once, by flush results
      if (!('loghourMerge' in client)) client.defineCommand('loghourMerge', { numberOfKeys: 2, lua: MERGE_SCRIPT })
      this.#wasReady = client.status === 'ready'
      client.once('ready', () => (this.#wasReady = true))
      // A closed connection answers nothing more, whatever the client does with its commands
      // (a user's client may drop them unsettled); merges are idempotent, so sending again is safe.
      client.on('close', () => {
        this.#connection++
        this.#unanswered = 0
      })
      return client as MergingClient
    }
    this.#client =
      typeof target === 'string'
        ? import('ioredis').then(({ Redis: Client }) => prepare(new Client(target, OWNED_CLIENT_OPTIONS)))
        : Promise.resolve(prepare(target))
  }

  /** Hours with local changes not yet confirmed by Redis (bit mask). */
  get pendingHours(): number {
    return this.#sketches.dirtyHours()
  }

  /**
   * Merges every local change into Redis. One flush runs at a time; a call during a flush waits
   * for it and then flushes what arrived meanwhile. Rejects if Redis did not confirm every merge
   * (the changes stay local and go with the next flush).
   */
  flush(): Promise<void> {
    const previous = this.#running ?? Promise.resolve()
    const next = previous.catch(() => {}).then(() => this.#flushOnce())
    this.#running = next
    void next.catch(() => {}).finally(() => {
      if (this.#running === next) this.#running = undefined
    })
    return next
  }

  /** Waits for the first connection (bounded): only then does "not connected" mean an outage. */
  async #connected(): Promise<MergingClient> {
    const client = await this.#client
    if (client.status === 'ready' || this.#wasReady) return client
    await withTimeout(
      new Promise<void>((resolve) => client.once('ready', () => resolve())),
      this.#options.timeoutMs,
      'connect',
    ).catch(() => {})
    return client
  }

  async #flushOnce(): Promise<void> {
    const dirty = this.#sketches.dirtyHours()
    if (dirty === 0) return
    const client = await this.#connected()
    if (this.#unanswered > 0) {
      // Redis has not answered the previous merges: sending more would only queue them up.
      throw this.#failed(new Error(`Redis has not answered ${this.#unanswered} earlier merges`))
    }
    const started = Date.now()
    const merges: Promise<number>[] = []
    let bytes = 0
    for (let hour = 0; hour < 24; hour++) {
      if ((dirty & (1 << hour)) === 0) continue
      const delta = this.#sketches.takeHour(hour)
      bytes += delta.length
      merges.push(
        this.#merge(client, hour, delta).catch((error: unknown) => {
          this.#sketches.mergeHour(hour, delta) // not confirmed: keep it for the next flush
          throw error
        }),
      )
    }
    const results = await Promise.allSettled(merges)
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
    if (failure) throw this.#failed(failure.reason as Error)
    this.#outage.succeeded({ hours: merges.length, bytes, ms: Date.now() - started })
  }

  #merge(client: MergingClient, hour: number, delta: Buffer): Promise<number> {
    const target = hourKey(this.#options.keyPrefix, hour)
    const connection = this.#connection
    this.#unanswered++
    const command = client.loghourMerge(target, deltaKey(target), delta)
    void command
      .catch(() => {})
      .finally(() => {
        if (connection === this.#connection) this.#unanswered--
      })
    return withTimeout(command, this.#options.timeoutMs, `merge into ${target}`).catch((error: unknown) => {
      throw explain(error, target)
    })
  }

  #failed(error: Error): Error {
    this.#outage.failed(error)
    return new Error(`loghour: Redis merge not confirmed (changes kept locally): ${error.message}`, { cause: error })
  }

  /** Flushes, then reads `PFCOUNT` of the 24 hour keys. */
  async hourCounts(): Promise<number[]> {
    await this.flush()
    const client = await this.#connected()
    const counts = Array.from({ length: 24 }, (_, hour) => {
      const key = hourKey(this.#options.keyPrefix, hour)
      return withTimeout(client.pfcount(key), this.#options.timeoutMs, 'PFCOUNT').catch((error: unknown) => {
        throw explain(error, key)
      })
    })
    return Promise.all(counts)
  }

  /**
   * Final flush, retried with backoff until `closeTimeoutMs` passes; then the connection it owns
   * is closed. Rejects if changes could not be merged.
   */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    const deadline = Date.now() + this.#options.closeTimeoutMs
    try {
      for (let delay = 50; ; delay = Math.min(delay * 2, 1000)) {
        try {
          await this.flush()
          return
        } catch (error) {
          if (Date.now() + delay > deadline) throw error
          await new Promise((r) => setTimeout(r, delay))
        }
      }
    } finally {
      if (this.#owned) (await this.#client).disconnect()
    }
  }
}
