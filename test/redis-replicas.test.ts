// A merge counts only once a replica holds it (WAIT): a real Redis with a real replica. While the
// replica is paused the changes are kept and merged again; --min-replicas overrides the default.
import { describe, expect, it } from 'vitest'
import { skipRedis, startRedis } from './helpers/redis.js'
import { eventually, message, sendTcp, startServer } from './helpers/server.js'

const line = (ip: string, hour: number) => `{"time":"2026-11-23 ${String(hour).padStart(2, '0')}:15:00","ip":"${ip}","status_code":503}\n`

describe.skipIf(skipRedis())('--min-replicas and WAIT on a single Redis', () => {
  it('waits for the replica by default, keeps the changes while it is paused, and --min-replicas 0 does not wait', async () => {
    const primary = await startRedis()
    const replica = await startRedis({ args: ['--replicaof', '127.0.0.1', String(primary.port)] })
    try {
      const replicaClient = replica.client()
      await eventually(async () => /master_link_status:up/.test(await replicaClient.info('replication')), 20_000, 'the replica in sync')
      const waits = async () => Number(/cmdstat_wait:calls=(\d+)/.exec(await primary.client().info('commandstats'))?.[1] ?? 0)

      /** A server on the primary, flushing every 50 ms, WAIT getting 500 ms. */
      const onPrimary = (extra: string[]) =>
        startServer(['--redis', primary.url, '--flush-interval', '50', '--redis-timeout', '1000', ...extra])
      const server = await onPrimary(['--log-level', 'debug'])
      await sendTcp(server.port, Buffer.from(line('a', 9)))
      await server.waitForLog(message('flushed '), 0)
      expect(await waits()).toBeGreaterThan(0)
      expect(await replicaClient.pfcount('error_hour_9')).toBe(1) // the replica has it: it was confirmed

      // The replica stops acknowledging: merges land on the primary but are not confirmed.
      replica.process.kill('SIGSTOP')
      const before = server.logs.length
      await sendTcp(server.port, Buffer.from(line('b', 9)))
      const down = await server.waitForLog(message('store unavailable'), before)
      expect(down.msg).toMatch(/the merge reached 0 of 1 replicas within 500 ms \(WAIT\) on the Redis; kept to merge again/)
      replica.process.kill('SIGCONT')
      await server.waitForLog(message('store reachable again'), before)
      await eventually(async () => (await replicaClient.pfcount('error_hour_9')) === 2, 10_000, 'the kept merge on the replica')
      expect(await server.stop()).toBe(0)

      // The replica dies: connected_slaves drops to 0, which must not make the primary's word enough.
      const watched = await onPrimary(['--http', '127.0.0.1:0'])
      const base = `http://127.0.0.1:${((await watched.waitForLog(message('HTTP endpoints'), 0)).http as { port: number }).port}`
      await sendTcp(watched.port, Buffer.from(line('e', 12)))
      await eventually(async () => (await replicaClient.pfcount('error_hour_12')) === 1, 10_000, 'confirmed on the replica')
      replica.process.kill('SIGKILL')
      await eventually(async () => /connected_slaves:0/.test(await primary.client().info('replication')), 10_000, 'the replica gone')
      const from = watched.logs.length
      await sendTcp(watched.port, Buffer.from(line('f', 12)))
      const short = await watched.waitForLog(message('store unavailable'), from)
      expect(short.msg).toMatch(/reached 0 of 1 replicas .*kept to merge again/)
      const ready = await fetch(`${base}/readyz`)
      expect(ready.status).toBe(503)
      expect(((await ready.json()) as { reason: string }).reason).toMatch(
        /^merges are not confirmed on the replicas they need \(the merge reached 0 of 1 replicas/,
      )
      const metrics = await (await fetch(`${base}/metrics`)).text()
      expect(metrics).toMatch(/^loghour_store_replicas_missing\{shard="the Redis"\} 1$/m)
      // It comes back (empty, as a replica does): everything kept is merged and confirmed.
      await replica.restart()
      await eventually(async () => (await replicaClient.pfcount('error_hour_12')) === 2, 20_000, 'the kept merge confirmed')
      await watched.waitForLog(message('store reachable again'), from)
      expect((await fetch(`${base}/readyz`)).status).toBe(200)
      expect(await (await fetch(`${base}/metrics`)).text()).not.toMatch(/^loghour_store_replicas_missing\{/m)
      expect(await watched.stop()).toBe(0)

      // Asked not to wait: no WAIT is sent.
      const noWait = await startServer(['--redis', primary.url, '--flush-interval', '50', '--min-replicas', '0', '--log-level', 'debug'])
      const sent = await waits()
      await sendTcp(noWait.port, Buffer.from(line('c', 10)))
      await noWait.waitForLog(message('flushed '), 0)
      expect(await waits()).toBe(sent)
      expect(await noWait.stop()).toBe(0)

      // More replicas than there are: never confirmed, and the final flush says why (exit 1).
      const tooMany = await startServer([
        '--redis',
        primary.url,
        '--flush-interval',
        '50',
        '--min-replicas',
        '2',
        // WAIT gets half of it; the rest is the round trip's margin on a loaded machine.
        '--redis-timeout',
        '2000',
        '--close-timeout',
        '0.5',
      ])
      await sendTcp(tooMany.port, Buffer.from(line('d', 11)))
      expect((await tooMany.waitForLog(message('store unavailable'), 0)).msg).toMatch(/reached 1 of 2 replicas/)
      expect(await tooMany.stop()).toBe(1)
    } finally {
      replica.process.kill('SIGCONT')
      await replica.stop()
      await primary.stop()
    }
  }, 120_000)
})
