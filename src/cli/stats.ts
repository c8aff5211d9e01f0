import { renderHours } from '../render.js'
import { peakOf } from '../stats.js'
import { hourKey } from '../stores/keys.js'

export interface StatsOptions {
  redis: string
  keyPrefix: string
  json?: boolean
}

/** `loghour stats`: the current answer from Redis, fed by any number of servers. */
export async function stats(options: StatsOptions): Promise<void> {
  const { Redis } = await import('ioredis')
  const client = new Redis(options.redis, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, connectTimeout: 5000 })
  client.on('error', () => {})
  const where = options.redis.replace(/\/\/[^@/]*@/, '//***@')
  let hours: number[]
  try {
    await client.connect()
    hours = await Promise.all(Array.from({ length: 24 }, (_, h) => client.pfcount(hourKey(options.keyPrefix, h))))
  } catch (error) {
    throw new Error(`cannot read the hour keys from Redis at ${where}: ${(error as Error).message}`)
  } finally {
    client.disconnect()
  }
  const peak = peakOf(hours)
  process.stdout.write(options.json ? `${JSON.stringify({ hours, ...peak }, null, 2)}\n` : `${renderHours(hours, peak.peakHour)}\n`)
}
