// The connection to Redis or a Redis Cluster: the ioredis settings of a client the store owns,
// the merge script every client gets, and round trips with a bounded wait.
import type { Cluster, ClusterOptions, Redis, RedisOptions } from 'ioredis'
import type { RedisTls } from '../../settings.js'

/**
 * One atomic server-side step per key: note whether the key exists, write the raw sketch (dense,
 * or sparse for a small day-hour) to a temporary key in the target's slot, merge it (register-wise
 * max, so a repeat is harmless), delete it, and for a day key set its expiry (ARGV[2], Unix ms;
 * idempotent). Returns 1 if the key existed before, 0 if not (so a key Redis lost is noticed).
 * The temporary key is deleted even when PFMERGE fails (the target holds something else), and a
 * user without DEL permission only leaves it to expire. An error names the command (Redis does
 * not, for a command an ACL forbids inside a script).
 */
const MERGE_SCRIPT = `
local existed = redis.pcall('EXISTS', KEYS[1])
if type(existed) == 'table' then return redis.error_reply(existed.err .. ' (EXISTS)') end
local set = redis.pcall('SET', KEYS[2], ARGV[1], 'PX', 60000)
if set.err then return redis.error_reply(set.err .. ' (SET)') end
local merged = redis.pcall('PFMERGE', KEYS[1], KEYS[2])
redis.pcall('DEL', KEYS[2])
if type(merged) == 'table' and merged.err then return redis.error_reply(merged.err .. ' (PFMERGE)') end
if ARGV[2] then
  local expiry = redis.pcall('PEXPIREAT', KEYS[1], ARGV[2])
  if type(expiry) == 'table' and expiry.err then return redis.error_reply(expiry.err .. ' (PEXPIREAT)') end
end
return existed`

/** A client (or a pipeline of one) with the merge script as a command. */
export type MergingClient = (Redis | Cluster) & {
  loghourMerge(target: string, temp: string, sketch: Buffer, expireAtMs?: number): Promise<number>
  loghourGroupMerge(target: string, temp: string, registry: string, sketch: Buffer, member: string): Promise<number>
}

/**
 * A group key's merge: the same steps, then the value joins the hour's set of values (`SADD`,
 * the same slot), so a reader finds every value without scanning the keyspace.
 */
const GROUP_MERGE_SCRIPT = `
local existed = redis.pcall('EXISTS', KEYS[1])
if type(existed) == 'table' then return redis.error_reply(existed.err .. ' (EXISTS)') end
local set = redis.pcall('SET', KEYS[2], ARGV[1], 'PX', 60000)
if set.err then return redis.error_reply(set.err .. ' (SET)') end
local merged = redis.pcall('PFMERGE', KEYS[1], KEYS[2])
redis.pcall('DEL', KEYS[2])
if type(merged) == 'table' and merged.err then return redis.error_reply(merged.err .. ' (PFMERGE)') end
local added = redis.pcall('SADD', KEYS[3], ARGV[2])
if type(added) == 'table' and added.err then return redis.error_reply(added.err .. ' (SADD)') end
return existed`

/** Defines the merge scripts on `client` once (a cluster's node clients each need them too). */
export function withMergeScript(client: Redis | Cluster): MergingClient {
  if (!('loghourMerge' in client)) {
    client.defineCommand('loghourMerge', { numberOfKeys: 2, lua: MERGE_SCRIPT })
    client.defineCommand('loghourGroupMerge', { numberOfKeys: 3, lua: GROUP_MERGE_SCRIPT })
  }
  return client as MergingClient
}

/**
 * ioredis settings for a connection the store owns: no offline queue and no re-sending of
 * unanswered commands (the store keeps unconfirmed changes itself, in fixed memory), and
 * exponential backoff between reconnection attempts capped at about a second, so a restarted
 * Redis is found again quickly (also by a final flush at shutdown); a connection attempt a
 * second per server costs Redis nothing.
 */
export const OWNED_CLIENT_OPTIONS: RedisOptions = Object.freeze({
  enableOfflineQueue: false,
  autoResendUnfulfilledCommands: false,
  // 0: commands in flight are rejected when their connection drops. With any other value ioredis
  // may reconnect first and then forget them without settling their promises.
  maxRetriesPerRequest: 0,
  // CLIENT SETNAME loghour (in CLIENT LIST); not CLIENT SETINFO: one right fewer to grant.
  connectionName: 'loghour',
  disableClientInfo: true,
  retryStrategy: (times: number) => Math.min(50 * 2 ** Math.min(times - 1, 5), 1000) + Math.floor(Math.random() * 100),
})

/**
 * ioredis options of a Redis Cluster the store owns, from its startup nodes (`host:port` or
 * URLs, whose user, password and `rediss://` apply to every node): the owned-client rules for
 * each node, no offline queue for the cluster, and slot moves and failovers retried briefly
 * (a merge that still fails is kept and sent with the next flush).
 */
export function clusterOptions(
  nodes: string[],
  timeoutMs: number,
  tls: RedisTls | undefined,
): { startup: { host: string; port: number }[]; options: ClusterOptions } {
  const urls = nodes.map((n) => new URL(/^rediss?:\/\//i.test(n) ? n : `redis://${n}`))
  const secure = urls.some((u) => u.protocol === 'rediss:')
  const auth = urls.find((u) => u.username !== '' || u.password !== '')
  const { retryStrategy, ...perNode } = OWNED_CLIENT_OPTIONS
  return {
    startup: urls.map((u) => ({ host: u.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(u.port || 6379) })),
    options: {
      enableOfflineQueue: false,
      scaleReads: 'master',
      maxRedirections: 16,
      retryDelayOnFailover: 100,
      retryDelayOnClusterDown: 100,
      retryDelayOnTryAgain: 100,
      slotsRefreshTimeout: timeoutMs,
      clusterRetryStrategy: retryStrategy,
      // Nodes announce IP addresses: TLS checks the certificate against those, as given.
      ...(secure ? { dnsLookup: (address: string, callback: (e: null, a: string) => void) => callback(null, address) } : {}),
      redisOptions: {
        ...perNode,
        connectTimeout: timeoutMs,
        ...(auth?.username ? { username: decodeURIComponent(auth.username) } : {}),
        ...(auth?.password ? { password: decodeURIComponent(auth.password) } : {}),
        ...(secure ? { tls: { ...tls } } : {}),
      },
    },
  }
}

export const isCluster = (client: Redis | Cluster): client is Cluster => (client as Cluster).isCluster === true

/** Rejects after `ms`, leaving the work running (its completion is tracked separately). */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer from Redis within ${ms} ms`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/** Settles when `client` is ready or its first connection attempt failed, or after `ms`. */
export function firstAttempt(client: Redis | Cluster, ms: number): Promise<void> {
  if (client.status === 'ready') return Promise.resolve()
  return new Promise<void>((resolve) => {
    const events = ['ready', 'error', 'close', 'end'] as const
    const done = () => {
      clearTimeout(timer)
      for (const e of events) client.off(e, done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    for (const e of events) client.once(e, done)
  })
}

/**
 * Runs `commands` in one round trip and returns their answers in order, each as
 * `[error, value]`: a pipeline on a single Redis (one write, one answer), one command per key in
 * a cluster (each routed to its key's node; a pipeline must stay on one node).
 */
export async function roundTrip(
  client: MergingClient,
  commands: ((c: MergingClient) => unknown)[],
  timeoutMs: number,
): Promise<[unknown, unknown][]> {
  if (isCluster(client)) {
    // Each command on its own clock: one that a failover leaves unsettled (its node gone while it
    // waited for a slot refresh) fails after the timeout instead of holding up every later flush.
    const results = await Promise.allSettled(commands.map((run) => withTimeout(Promise.resolve(run(client)), timeoutMs, 'cluster command')))
    return results.map((r) => (r.status === 'fulfilled' ? [null, r.value] : [r.reason, null]))
  }
  const pipeline = (client as Redis).pipeline()
  for (const run of commands) run(pipeline as unknown as MergingClient)
  const answers = (await pipeline.exec()) ?? []
  if (answers.length !== commands.length) throw new Error('Redis answered a round trip incompletely')
  return answers as [unknown, unknown][]
}

/** A user's client, as it may be shown. */
export function describeClient(client: Redis | Cluster): string {
  if (isCluster(client)) return 'the Redis Cluster client given'
  const { host, port, path } = (client as Redis).options ?? {}
  return path ? String(path) : `${host ?? 'localhost'}:${port ?? 6379}`
}
