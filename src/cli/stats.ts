import { createConsumer } from '../consumer.js'
import { renderHours } from '../render.js'
import type { RedisTls } from '../settings.js'
import { peakOf } from '../stats.js'

export interface StatsOptions {
  /** A Redis URL, or a Redis Cluster's startup nodes. */
  store: string | string[]
  /** For a rediss:// address: CA, client certificate and key (PEM). */
  tls?: RedisTls
  keyPrefix: string
  json?: boolean
}

/** `loghour stats`: the current answer from Redis, fed by any number of servers. */
export async function stats(options: StatsOptions): Promise<void> {
  // The store's own read: one round trip, the same error wording as the server's.
  const consumer = createConsumer({
    store: {
      ...(typeof options.store === 'string' ? { redis: options.store } : { redisCluster: options.store }),
      ...(options.tls ? { tls: options.tls } : {}),
    },
    keyPrefix: options.keyPrefix,
    closeTimeoutMs: 0,
  })
  let hours: number[]
  try {
    hours = (await consumer.stats()).hours
  } catch (error) {
    throw new Error(`cannot read the hour keys: ${(error as Error).message}`)
  } finally {
    await consumer.close().catch(() => {})
  }
  const peak = peakOf(hours)
  process.stdout.write(options.json ? `${JSON.stringify({ hours, ...peak }, null, 2)}\n` : `${renderHours(hours, peak.peakHour)}\n`)
}
