// The Redis ACL line of docs/redis.md is exactly what loghour uses: everything the store does — merges
// with --daily to a Redis with a replica, every query, `loghour stats`, the dashboard, readiness,
// shutdown — runs as a user created from that very line; Redis denies nothing, every right it
// grants is used, and no key but the hour and day keys is left (queries once left scratch keys).
import { describe, expect, it } from 'vitest'
import { run } from './helpers/cli.js'
import { readmeAclRules, readmeShareAclRules, skipRedis, startRedis } from './helpers/redis.js'
import { cleanEnv, eventually, message, sendTcp, startServer } from './helpers/server.js'

/** Commands a rule grants, as `INFO commandstats` names them (`client|setname`). */
const commandsOf = (rules: string[]) => rules.filter((r) => r.startsWith('+')).map((r) => r.slice(1).toLowerCase())

/** The five working days up to today, `YYYY-MM-DD` (UTC): days the server retains, and windows hold. */
function lastWorkingDays(): string[] {
  const days = Array.from({ length: 7 }, (_, i) => new Date(Date.now() - (6 - i) * 86_400_000))
  return days.filter((d) => d.getUTCDay() % 6 !== 0).map((d) => d.toISOString().slice(0, 10))
}

describe.skipIf(skipRedis())('the Redis ACL of docs/redis.md', () => {
  it('is enough for everything the store does, and every right in it is used', async () => {
    const rules = readmeAclRules()
    const primary = await startRedis()
    const replica = await startRedis({ args: ['--replicaof', '127.0.0.1', String(primary.port)] })
    try {
      const admin = primary.client()
      const replicaClient = replica.client()
      await eventually(async () => /master_link_status:up/.test(await replicaClient.info('replication')), 20_000, 'the replica in sync')
      await admin.acl('SETUSER', 'loghour', 'on', '>pw', ...rules)
      await admin.acl('LOG', 'RESET')
      await admin.config('RESETSTAT')
      const url = `redis://loghour:pw@127.0.0.1:${primary.port}`
      const server = await startServer(['--daily', '--http', '127.0.0.1:0', '--flush-interval', '100'], { REDIS_ADDRESS: url })
      const base = `http://127.0.0.1:${((await server.waitForLog(message('HTTP endpoints'), 0)).http as { port: number }).port}`
      const lines = lastWorkingDays().flatMap((date, d) =>
        [9, 14, 17].map((hour) => `{"time":"${date} ${String(hour).padStart(2, '0')}:05:00","ip":"10.0.${d}.${hour}","status_code":503}`),
      )
      await sendTcp(server.port, Buffer.from(`${lines.join('\n')}\n`))
      const ingest = await fetch(`${base}/ingest?sync=1`, { method: 'POST', body: `${lines[0]!.replace('10.0.0.9', '10.9.9.9')}\n` })
      const acked = await ingest.json()
      expect(acked, JSON.stringify(acked)).toMatchObject({ counted: 1, flushed: true })
      for (const path of ['/', '/stats', '/readyz', '/metrics']) expect((await fetch(`${base}${path}`)).status, path).toBe(200)
      const stats = await run('loghour.js', ['stats', '--json', '--by', 'weekday', '--redis', url], undefined, { env: cleanEnv() })
      expect(stats.stderr).toBe('')
      const table = JSON.parse(stats.stdout.toString()) as { hours: number[]; weekdays: number[][] }
      expect(table.hours[9]).toBe(6)
      expect(table.weekdays.map((row) => row[14])).toEqual([1, 1, 1, 1, 1])
      const window = await run('loghour.js', ['stats', '--json', '--days', '7', '--redis', url], undefined, { env: cleanEnv() })
      expect(JSON.parse(window.stdout.toString()).hours[17]).toBe(5)
      // The health check PINGs an idle server.
      await eventually(async () => /cmdstat_ping:/.test(await admin.info('commandstats')), 10_000, 'a PING')
      expect(await server.stop()).toBe(0)

      // Nothing was denied: no right is missing.
      expect(await admin.acl('LOG')).toEqual([])
      expect(server.logs.filter((r) => r.level >= 40)).toEqual([])
      // Every right was used (the admin's ACL, CONFIG and INFO and the replica's REPLCONF and PSYNC
      // aside; HELLO and AUTH need no right).
      const used = new Set([...(await admin.info('commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)].map((m) => m[1]!))
      for (const command of commandsOf(rules)) expect(used.has(command), `+${command} is never used`).toBe(true)
      const others = [...used].filter(
        (c) => !commandsOf(rules).includes(c) && !/^(acl\|\w+|config\|resetstat|info|hello|auth|replconf|psync)$/.test(c),
      )
      expect(others, 'commands run without a right for them').toEqual([])
      // No key is left but the hour keys and the day keys.
      const keys = await admin.keys('*')
      expect(keys.filter((k) => !/^error_hour_\d+$/.test(k) && !/^\{error_hour_\d+\}:\d{4}-\d{2}-\d{2}$/.test(k))).toEqual([])
      for (const key of keys.filter((k) => k.includes('}:'))) expect(await admin.pttl(key)).toBeGreaterThan(0)
    } finally {
      await replica.stop()
      await primary.stop()
    }
  })
})

describe.skipIf(skipRedis())('the Redis ACL of docs/redis.md with --all-users and --group-by', () => {
  it('the line plus its addition are enough, every right in the addition is used, and no other key is left', async () => {
    const rules = readmeAclRules()
    const extra = readmeShareAclRules()
    const redis = await startRedis()
    try {
      const admin = redis.client()
      await admin.acl('SETUSER', 'loghour', 'on', '>pw', ...rules)
      await admin.acl('SETUSER', 'loghour', ...extra)
      await admin.acl('LOG', 'RESET')
      await admin.config('RESETSTAT')
      const url = `redis://loghour:pw@127.0.0.1:${redis.port}`
      const args = ['--all-users', '--group-by', 'path', '--daily', '--min-replicas', '0']
      const server = await startServer([...args, '--http', '127.0.0.1:0', '--flush-interval', '100'], { REDIS_ADDRESS: url })
      const base = `http://127.0.0.1:${((await server.waitForLog(message('HTTP endpoints'), 0)).http as { port: number }).port}`
      const lines = lastWorkingDays().flatMap((date, d) =>
        [200, 503].map((status) => `{"time":"${date} 09:05:00","ip":"10.0.${d}.${status}","status_code":${status},"path":"/items/${d}"}`),
      )
      await sendTcp(server.port, Buffer.from(`${lines.join('\n')}\n`))
      await eventually(
        async () => ((await (await fetch(`${base}/stats`)).json()) as { lines: { total: number } }).lines.total === lines.length,
      )
      for (const path of ['/', '/stats', '/metrics']) expect((await fetch(`${base}${path}`)).status, path).toBe(200)
      const stats = await run('loghour.js', ['stats', '--json', '--all-users', '--group-by', 'path', '--redis', url], undefined, {
        env: cleanEnv(),
      })
      expect(stats.stderr).toBe('')
      const answer = JSON.parse(stats.stdout.toString()) as { users: number[]; groups: { value: string; hours: number[]; users: number }[] }
      expect(answer.users[9]).toBe(10)
      expect(answer.groups).toEqual([{ value: '/items/:id', hours: answer.groups[0]!.hours, users: 5 }])
      expect(await server.stop()).toBe(0)
      expect(await admin.acl('LOG')).toEqual([])
      expect(server.logs.filter((r) => r.level >= 40)).toEqual([])
      const used = new Set([...(await admin.info('commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)].map((m) => m[1]!))
      for (const command of commandsOf(extra)) expect(used.has(command), `+${command} is never used`).toBe(true)
      const keys = await admin.keys('*')
      const known = [
        /^(error|user)_hour_\d+$/,
        /^\{(error|user)_hour_\d+\}:\d{4}-\d{2}-\d{2}$/,
        /^\{error_hour_\d+\}:group:\/items\/:id$/,
        /^\{error_hour_\d+\}:groups$/,
      ]
      expect(keys.filter((k) => !known.some((re) => re.test(k)))).toEqual([])
    } finally {
      await redis.stop()
    }
  })
})
