// A replica that fails never lowers the confirmation a merge needs. On a real 3×(1+1) Redis
// Cluster a master's replica is stopped until the cluster marks it failed (and CLUSTER SLOTS
// stops listing it); merges to that master are then kept, not "confirmed" by the master alone,
// and /readyz and the metrics say so. The master is SIGKILLed and the stale replica takes over:
// once the old master rejoins as its replica, everything kept is merged and confirmed, and the
// keys hold exactly what one process fed every line holds. (With the replica count read from the
// slot map, every hour on that master's slots lost users, and every server said all was flushed.)
import { Cluster } from 'ioredis'
import { describe, expect, it } from 'vitest'
import { createConsumer, DENSE_SIZE, demoLines, HOURS } from '../src/index.js'
import { type RedisServer, skipRedis, startRedisCluster } from './helpers/redis.js'
import { eventually, message, type ServerProcess, sendTcp, startServer } from './helpers/server.js'

const PREFIX = 'error_hour_'

/** The hour keys' registers (PFMERGE writes dense; the header holds a cache). */
async function registers(cluster: Cluster): Promise<string[]> {
  return Promise.all(
    Array.from({ length: HOURS }, async (_, h) =>
      ((await cluster.getBuffer(`${PREFIX}${h}`)) ?? Buffer.alloc(DENSE_SIZE)).subarray(16).toString('hex'),
    ),
  )
}

/** The replica of `master` among `nodes`. */
async function replicaOf(master: RedisServer, nodes: RedisServer[]): Promise<RedisServer> {
  const port = Number(/slave0:ip=[^,]+,port=(\d+)/.exec(await master.client().info('replication'))?.[1])
  return nodes.find((n) => n.port === port)!
}

describe.skipIf(skipRedis())('--redis-cluster: a failed replica, then its master', () => {
  it('merges to a master whose replica failed are kept until confirmed, and survive that master dying', async () => {
    const cluster = await startRedisCluster(3, 1, 1000)
    const client = new Cluster([{ host: '127.0.0.1', port: cluster.ports[0]! }], { redisOptions: { maxRetriesPerRequest: 3 } })
    client.on('error', () => {})
    const servers: ServerProcess[] = []
    try {
      const data = demoLines(1, 1, 60_000)
      const half = data.indexOf(0x0a, data.length >> 1) + 1
      const nodes = cluster.ports.map((p) => `127.0.0.1:${p}`).join(',')
      const flags = [
        '--redis-cluster',
        nodes,
        '--flush-interval',
        '50',
        '--redis-timeout',
        '1000',
        '--close-timeout',
        '60',
        '--log-level',
        'debug',
      ]
      const start = async () => {
        servers.length = 0
        for (let i = 0; i < 3; i++) servers.push(await startServer([...flags, ...(i === 0 ? ['--http', '127.0.0.1:0'] : [])]))
        return `http://127.0.0.1:${((await servers[0]!.waitForLog(message('HTTP endpoints'), 0)).http as { port: number }).port}`
      }
      await start()
      // The first half, confirmed on every master's replica.
      await Promise.all(servers.map((s) => sendTcp(s.port, data.subarray(0, half))))
      expect(await Promise.all(servers.map((s) => s.stop()))).toEqual([0, 0, 0])

      // A master's replica stops; the cluster marks it failed and the slot map drops it.
      const master = cluster.nodes.find((n) => n.port === cluster.ports[1])!
      const replica = await replicaOf(master, cluster.nodes)
      replica.process.kill('SIGSTOP')
      const others = cluster.nodes.filter((n) => n !== replica).map((n) => n.client())
      const dropped = async (node: (typeof others)[number]) =>
        ((await node.cluster('SLOTS')) as unknown[][]).some((range) => (range[2] as unknown[])[1] === master.port && range.length === 3)
      const listed = async () => (await Promise.all(others.map(dropped))).every(Boolean)
      await eventually(listed, 20_000, 'the failed replica dropped from every CLUSTER SLOTS')
      // Servers that never saw the replica in the slot map (as after their client's refresh).
      const base = await start()
      const from = servers.map((s) => s.logs.length)
      await Promise.all(servers.map((s) => sendTcp(s.port, data.subarray(half))))
      // Not confirmed: kept, said once, on /readyz and in the metrics.
      const short = await servers[0]!.waitForLog(message('store unavailable'), from[0])
      expect(short.msg).toMatch(new RegExp(`reached 0 of 1 replicas .* on 127\\.0\\.0\\.1:${master.port}; kept`))
      const ready = await fetch(`${base}/readyz`)
      expect(ready.status).toBe(503)
      expect(((await ready.json()) as { reason: string }).reason).toMatch(/^merges are not confirmed on the replicas they need/)
      expect(await (await fetch(`${base}/metrics`)).text()).toMatch(
        new RegExp(`^loghour_store_replicas_missing\\{shard="127\\.0\\.0\\.1:${master.port}"\\} 1$`, 'm'),
      )

      // The master dies; the stale replica takes its slots.
      master.process.kill('SIGKILL')
      replica.process.kill('SIGCONT')
      await eventually(
        async () => {
          await replica
            .client()
            .cluster('FAILOVER', 'TAKEOVER')
            .catch(() => {})
          return /role:master/.test(await replica.client().info('replication'))
        },
        20_000,
        'the replica promoted',
      )
      // The old master comes back as its replica: the kept merges are confirmed now.
      await master.restart()
      await eventually(
        async () => /connected_slaves:1/.test(await replica.client().info('replication')),
        30_000,
        'the old master replicating the new one',
      )
      const stopped = await Promise.all(servers.map((s) => s.stop()))
      expect(stopped).toEqual([0, 0, 0])

      const one = createConsumer()
      one.write(data)
      await one.close()
      const expected = Array.from({ length: HOURS }, (_, h) => one.exportHour(h).subarray(16).toString('hex'))
      await eventually(async () => /cluster_state:ok/.test(String(await replica.client().cluster('INFO'))), 20_000, 'the cluster ok')
      expect(await registers(client)).toEqual(expected)
    } finally {
      for (const s of servers) if (s.child.exitCode === null) s.child.kill('SIGKILL')
      client.disconnect()
      await cluster.stop()
    }
  }, 180_000)
})
