// The Redis store on a real Redis Cluster (three masters): each hour's delta lands in its hour
// key's slot, whichever node serves it, and two consumers merge exactly as one stream.
import { Cluster } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createConsumer, demoLines, HOURS } from '../src/index.js'
import { readHourCounts } from '../src/stores/redis.js'
import { type RedisClusterServers, skipRedis, startRedisCluster } from './helpers/redis.js'

describe.skipIf(skipRedis())('Redis store on a Redis Cluster', () => {
  let servers: RedisClusterServers
  let cluster: Cluster
  beforeAll(async () => {
    servers = await startRedisCluster(3)
    cluster = new Cluster([{ host: '127.0.0.1', port: servers.ports[0]! }])
    cluster.on('error', () => {})
  }, 60_000)
  afterAll(async () => {
    cluster?.disconnect()
    await servers?.stop()
  })

  /** Every key of every master. */
  async function allKeys(): Promise<string[]> {
    const keys = await Promise.all(cluster.nodes('master').map((node) => node.keys('*')))
    return keys.flat().sort()
  }

  it.each([
    ['error_hour_', 'keys spread over the nodes'],
    ['{lh}error_hour_', 'all keys in one hash slot'],
  ])('prefix %s (%s): two consumers give the registers of one stream, no delta key left', async (prefix) => {
    const data = demoLines(1, 1, 90_000) // 25 hours of lines: every hour key
    const half = data.indexOf(0x0a, data.length >> 1) + 1
    const consumers = [0, 1].map(() => createConsumer({ store: { redis: cluster }, keyPrefix: prefix, flushIntervalMs: 50 }))
    consumers[0]!.write(data.subarray(0, half))
    consumers[1]!.write(data.subarray(half))
    await Promise.all(consumers.map((c) => c.close()))

    const one = createConsumer()
    one.write(data)
    await one.close()
    const expected = (await one.stats()).hours
    expect(expected.every((n) => n > 0)).toBe(true)
    const counts = await readHourCounts(cluster, prefix)
    expect(counts).toEqual(expected)
    for (let h = 0; h < HOURS; h++) {
      const value = await cluster.getBuffer(`${prefix}${h}`)
      expect(value!.subarray(16).equals(one.exportHour(h).subarray(16)), `hour ${h}`).toBe(true)
    }
    const keys = await allKeys()
    expect(keys.filter((k) => k.startsWith(prefix)).length).toBe(HOURS)
    expect(keys.filter((k) => k.includes('loghour-delta'))).toEqual([])
    const nodesWithKeys = await Promise.all(cluster.nodes('master').map(async (node) => (await node.keys(`${prefix}*`)).length > 0))
    expect(nodesWithKeys.filter(Boolean).length).toBe(prefix.startsWith('{') ? 1 : 3)
  })
})
