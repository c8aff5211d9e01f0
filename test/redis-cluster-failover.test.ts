// loghour-server on a real Redis Cluster from the command line (--redis-cluster): three masters
// with a replica each, three servers taking interleaved and overlapping streams, one master killed
// (SIGKILL) mid-stream, its replica promoted, the old master back as its replica. Merges are retried
// until Redis confirms them on a replica (WAIT), so the final registers are those of a plain Redis
// fed every line's element.
import { Cluster } from 'ioredis'
import { describe, expect, it } from 'vitest'
import { createConsumer, demoLines, HOURS, INVALID_REASONS } from '../src/index.js'
import { run } from './helpers/cli.js'
import { modelStream } from './helpers/model.js'
import { pfaddReference, skipRedis, startRedis, startRedisCluster } from './helpers/redis.js'
import { cleanEnv, eventually, message, sendTcp, startServer } from './helpers/server.js'

const PREFIX = 'error_hour_'

/** The latest Tuesday and the Wednesday after it, the Wednesday at most tomorrow (UTC), as `YYYY-MM-DD`. */
function recentTuesday(): [string, string] {
  let day = Math.floor(Date.now() / 86_400_000)
  while ((((day + 3) % 7) + 7) % 7 !== 1) day--
  const date = (d: number) => new Date(d * 86_400_000).toISOString().slice(0, 10)
  return [date(day), date(day + 1)]
}

/** The 24 dense values of a cluster's hour keys, registers only (PFMERGE writes dense; the header holds a cache). */
async function registers(cluster: Cluster): Promise<string[]> {
  return Promise.all(
    Array.from({ length: HOURS }, async (_, h) =>
      ((await cluster.getBuffer(`${PREFIX}${h}`)) ?? Buffer.alloc(16)).subarray(16).toString('hex'),
    ),
  )
}

describe.skipIf(skipRedis())('--redis-cluster: failover mid-stream', () => {
  it('three servers, a master SIGKILLed and its replica promoted: the registers of one plain Redis fed every line', async () => {
    const cluster = await startRedisCluster(3, 1, 1000)
    const reference = await startRedis()
    const client = new Cluster([{ host: '127.0.0.1', port: cluster.ports[0]! }], { redisOptions: { maxRetriesPerRequest: 3 } })
    client.on('error', () => {})
    try {
      // 25 hours of demo lines (every hour key), in six parts; parts overlap between servers. Their
      // days (a Tuesday and a Wednesday of 2019) move to the latest such pair up to today, so the
      // per-day keys (--daily) are inside the retained days, by loghour's clock and by Redis's.
      const days = recentTuesday()
      const data = Buffer.from(demoLines(1, 1, 120_000).toString().replaceAll('2019-05-14', days[0]).replaceAll('2019-05-15', days[1]))
      const cuts = [0, 1, 2, 3, 4, 5, 6].map((i) =>
        i === 6 ? data.length : data.indexOf(0x0a, Math.floor((data.length * i) / 6)) + (i === 0 ? 0 : 1),
      )
      const part = (i: number) => data.subarray(cuts[i]!, cuts[i + 1]!)
      const nodes = cluster.ports.map((p) => `127.0.0.1:${p}`).join(',')
      const servers = await Promise.all(
        [0, 1, 2].map(() =>
          startServer(['--redis-cluster', nodes, '--daily', '--flush-interval', '50', '--redis-timeout', '1000', '--log-level', 'debug']),
        ),
      )
      expect(servers[0]!.logs.find(message('loghour-server listening'))!.msg).toMatch(/store: Redis Cluster 127\.0\.0\.1:\d+,/)
      // Before the kill: parts 0–2, part 1 to two servers.
      await Promise.all([sendTcp(servers[0]!.port, part(0)), sendTcp(servers[1]!.port, part(1)), sendTcp(servers[2]!.port, part(1))])
      await sendTcp(servers[2]!.port, part(2))
      // Every server has had merges confirmed (on a replica) before one master dies.
      await Promise.all(servers.map((s) => s.waitForLog(message('flushed '), 0)))
      const victim = cluster.nodes[1]! // a master
      const heirPort = Number(/slave0:ip=[^,]+,port=(\d+)/.exec(await victim.client().info('replication'))?.[1])
      const heir = cluster.nodes.find((n) => n.port === heirPort)!
      victim.process.kill('SIGKILL')
      // During the failover: parts 3–5, part 4 to all three.
      await sendTcp(servers[0]!.port, part(3))
      await Promise.all(servers.map((s) => sendTcp(s.port, part(4))))
      await sendTcp(servers[1]!.port, part(5))
      const survivorNode = cluster.nodes.find((n) => n !== victim)!
      const survivorPort = survivorNode.port
      const survivor = survivorNode.client()
      // The victim is marked failed and its replica serves its slots.
      const promoted = async () =>
        /role:master/.test(await heir.client().info('replication')) && /cluster_state:ok/.test(String(await survivor.cluster('INFO')))
      await eventually(promoted, 20_000, 'the replica promoted')
      // The promoted replica has no replica of its own: merges there wait (kept) until the old
      // master rejoins as its replica; a master's word alone confirms nothing.
      await victim.restart()
      await eventually(
        async () => /master_link_status:up/.test(await victim.client().info('replication')),
        30_000,
        'the old master replicating the promoted one',
      )
      const stopped = await Promise.all(servers.map((s) => s.stop()))
      expect(stopped).toEqual([0, 0, 0])
      for (const s of servers) expect(s.logs.some(message('store unavailable'))).toBe(true) // they did see the outage

      await pfaddReference(reference, data, PREFIX)
      const plain = reference.client()
      const fromPlain = await Promise.all(Array.from({ length: HOURS }, (_, h) => plain.pfcount(`${PREFIX}${h}`)))
      expect(fromPlain.every((n) => n > 0)).toBe(true)
      const counts = await run('loghour.js', ['stats', '--json', '--redis-cluster', `127.0.0.1:${survivorPort}`], undefined, {
        env: cleanEnv(),
      })
      expect(counts.stderr).toBe('')
      expect(JSON.parse(counts.stdout.toString()).hours).toEqual(fromPlain)
      // Each day key too: PFCOUNT of a plain Redis fed that day's elements only.
      for (const day of days) {
        const elements = modelStream(data, 65536, INVALID_REASONS).counted.filter((e) => e.element.toString().startsWith(day))
        for (let h = 0; h < HOURS; h++) {
          const ofHour = elements.filter((e) => e.hour === h).map((e) => e.element)
          if (ofHour.length > 0) await plain.pfadd(`${day}:${h}`, ...ofHour)
        }
        const dayPlain = await Promise.all(Array.from({ length: HOURS }, (_, h) => plain.pfcount(`${day}:${h}`)))
        expect(dayPlain.reduce((a, b) => a + b, 0)).toBeGreaterThan(0)
        const window = ['stats', '--json', '--redis-cluster', `127.0.0.1:${survivorPort}`, '--from', day, '--to', day]
        const fromDays = await run('loghour.js', window, undefined, { env: cleanEnv() })
        expect(fromDays.stderr).toBe('')
        expect(JSON.parse(fromDays.stdout.toString()).hours, day).toEqual(dayPlain)
      }
      // Merges were confirmed on replicas (WAIT), by the masters still running.
      const alive = cluster.nodes.filter((n) => n !== victim)
      const waits = await Promise.all(
        alive.map(async (n) => Number(/cmdstat_wait:calls=(\d+)/.exec(await n.client().info('commandstats'))?.[1] ?? 0)),
      )
      expect(waits.reduce((a, b) => a + b, 0)).toBeGreaterThan(0)
      // Register for register: what one process fed every line holds (nothing lost, nothing twice).
      const one = createConsumer()
      one.write(data)
      await one.close()
      expect(await registers(client)).toEqual(Array.from({ length: HOURS }, (_, h) => one.exportHour(h).subarray(16).toString('hex')))
    } finally {
      client.disconnect()
      await reference.stop()
      await cluster.stop()
    }
  }, 120_000)
})
