// One connection to Redis or a Redis Cluster, as the store sees it: the client (made from a URL or
// nodes, or the user's own), why it is unreachable right now, and which round trips were written
// on the current connection and are still unanswered (a closed connection answers nothing more).
import type { Cluster, Redis } from 'ioredis'
import type { RedisTls } from '../../settings.js'
import { redactAddress } from '../redact.js'
import { clusterOptions, describeClient, firstAttempt, type MergingClient, OWNED_CLIENT_OPTIONS, withMergeScript } from './client.js'
import { explain } from './errors.js'

/**
 * The store's connection. For a URL or cluster nodes it owns the client (ioredis is loaded on
 * first use: it costs ~60 ms of start-up); a user's client is used as given and left open.
 * @example
 * const connection = new RedisConnection('redis://localhost:6379', { timeoutMs: 5000 })
 * const client = await connection.ready() // or throws why Redis is unreachable
 */
export class RedisConnection {
  /** The client, once made. */
  readonly client: Promise<MergingClient>
  /** Where Redis is, as it may be shown (no password). */
  readonly where: string
  readonly #owned: boolean
  /** Settles once the first connection attempt is over. */
  #firstAttempt: Promise<void> = Promise.resolve()
  /** The latest connection-level error: why Redis is unreachable. */
  #lastError: Error | undefined
  /** Counts connection losses: commands of an earlier connection will never be answered. */
  #epoch = 0
  /** Round trips written on the current connection whose answer has not arrived (even if we stopped waiting). */
  #unanswered = 0

  constructor(target: string | string[] | Redis | Cluster, options: { timeoutMs: number; tls?: RedisTls | undefined }) {
    this.#owned = typeof target === 'string' || Array.isArray(target)
    this.where =
      typeof target === 'string'
        ? redactAddress(target)
        : Array.isArray(target)
          ? `the Redis Cluster at ${target.map(redactAddress).join(',')}`
          : describeClient(target)
    const { timeoutMs, tls } = options
    this.client =
      typeof target === 'string'
        ? import('ioredis').then(({ Redis: Client }) =>
            this.#prepare(
              new Client(target, {
                ...OWNED_CLIENT_OPTIONS,
                connectTimeout: timeoutMs,
                // Explicit TLS options win over the plain `tls: true` a rediss:// URL implies.
                ...(tls ? { tls: { ...tls } } : {}),
              }),
              timeoutMs,
            ),
          )
        : Array.isArray(target)
          ? import('ioredis').then(({ Cluster: Client }) => {
              const { startup, options: cluster } = clusterOptions(target, timeoutMs, tls)
              return this.#prepare(new Client(startup, cluster), timeoutMs)
            })
          : Promise.resolve(this.#prepare(target, timeoutMs))
    // A failure is reported where the client is used (flush, stats, close), not as an unhandled rejection.
    this.client.catch(() => {})
  }

  #prepare(client: Redis | Cluster, timeoutMs: number): MergingClient {
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
    // A closed connection answers nothing more, whatever the client does with its commands
    // (a user's client may drop them unsettled); merges are idempotent, so sending again is safe.
    const reconnected = () => {
      this.#epoch++
      this.#unanswered = 0
    }
    client.on('close', reconnected)
    // A cluster's nodes come and go under one client: a failed node's unanswered merges are
    // not waited for (they are sent again; a late answer is harmless).
    client.on('-node', reconnected)
    client.on('node error', reconnected)
    client.on('ready', () => (this.#lastError = undefined))
    this.#firstAttempt = firstAttempt(client, timeoutMs)
    if (client.status === 'wait') client.connect().catch(() => {}) // lazyConnect: connect now
    return withMergeScript(client)
  }

  /** Which connection this is: it changes with every connection lost. */
  get epoch(): number {
    return this.#epoch
  }

  /** Round trips of this connection still unanswered. */
  get unanswered(): number {
    return this.#unanswered
  }

  /** Counts `sent` as unanswered until it settles (on this connection; a lost one forgets it). */
  track<T>(sent: Promise<T>): Promise<T> {
    const epoch = this.#epoch
    this.#unanswered++
    void sent
      .catch(() => {})
      .finally(() => {
        if (epoch === this.#epoch) this.#unanswered--
      })
    return sent
  }

  /** The client when it is connected; otherwise why not, at once (after the first attempt). */
  async ready(): Promise<MergingClient> {
    const client = await this.client
    if (client.status !== 'ready') await this.#firstAttempt
    if (client.status === 'ready') return client
    const cause = this.#lastError
      ? explain(this.#lastError).message
      : client.status === 'connect'
        ? 'connected, but no answer to the handshake (Redis stalled or busy loading?)'
        : `not connected (${client.status})`
    throw new Error(`Redis at ${this.where} is unreachable: ${cause}`, { cause: this.#lastError })
  }

  /** Closes the client if this connection made it (a user's stays open). */
  async close(): Promise<void> {
    if (this.#owned) (await this.client).disconnect()
  }
}
