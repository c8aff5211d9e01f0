import { createConsumer } from '../consumer.js'
import type { StatsQuery } from '../days.js'
import type { ConsumerOptions } from '../options.js'
import { renderAnswer } from '../render.js'
import type { RedisTls } from '../settings.js'
import type { Stats } from '../stats.js'

export interface StatsOptions {
  /** A Redis URL, or a Redis Cluster's startup nodes. */
  store: string | string[]
  /** For a rediss:// address: CA, client certificate and key (PEM). */
  tls?: RedisTls
  keyPrefix: string
  /** The calendar of the day keys ("today" for --days). */
  timezone?: string | undefined
  /** Days the servers keep: the default window of --by weekday. */
  retainDays: number
  /** A window of days and/or the weekday table: read from the per-day keys. */
  query?: StatsQuery | undefined
  /** What else the servers count: every user (`allUsers`), groups (`groupBy`). */
  answer?: Pick<ConsumerOptions, 'allUsers' | 'usersKeyPrefix' | 'minUsers' | 'groupBy' | 'top'>
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
    ...options.answer,
    closeTimeoutMs: 0,
    ...(options.query ? { daily: true, retainDays: options.retainDays } : {}),
    ...(options.timezone ? { timezone: options.timezone } : {}),
  })
  let answer: Stats
  try {
    answer = await consumer.stats(options.query)
  } catch (error) {
    if ((error as Error).name === 'OptionError') throw error
    throw new Error(`cannot read the ${options.query ? 'day' : 'hour'} keys: ${(error as Error).message}`)
  } finally {
    await consumer.close().catch(() => {})
  }
  // The answer without this process's line counters (it read no line) and its otherRecords.
  const { lines: _lines, invalid: _invalid, otherRecords: _other, daily: _daily, streams: _streams, ...shown } = answer
  process.stdout.write(options.json ? `${JSON.stringify(shown, null, 2)}\n` : `${renderAnswer(shown)}\n`)
}
