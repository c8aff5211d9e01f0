import { renderHours } from '../render.js'
import { peakOf } from '../stats.js'
import { hourKey } from '../stores/keys.js'
import { explain } from '../stores/redis.js'

export interface StatsOptions {
  redis: string
  keyPrefix: string
  json?: boolean
}

/** `loghour stats`: the current answer from Redis, fed by any number of servers. */
export async function stats(options: StatsOptions): Promise<void> {
  const { Redis } = await import('ioredis')
  const client = new Redis(options.redis, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, connectTimeout: 5000 })
  // The socket's own error (ECONNREFUSED, ENOTFOUND) says more than "Connection is closed".
  let connectError: Error | undefined
  client.on('error', (error: Error) => (connectError ??= error))
  const where = options.redis.replace(/\/\/[^@/]*@/, '//***@')
  let hours: number[]
  try {
    await client.connect().catch((error: Error) => {
      throw connectError ?? error
    })
    hours = await Promise.all(
      Array.from({ length: 24 }, (_, h) => {
        const key = hourKey(options.keyPrefix, h)
        return client.pfcount(key).catch((error: unknown) => {
          throw explain(error, key)
        })
      }),
    )
  } catch (error) {
    throw new Error(`cannot read the hour keys from Redis at ${where}: ${(error as Error).message}`)
  } finally {
    client.disconnect()
  }
  const peak = peakOf(hours)
  process.stdout.write(options.json ? `${JSON.stringify({ hours, ...peak }, null, 2)}\n` : `${renderHours(hours, peak.peakHour)}\n`)
}
