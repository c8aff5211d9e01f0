// One round trip of merges, and what it confirmed: on a single Redis one pipeline (with the checks
// that notice a Redis that lost data) then `WAIT`; in a cluster one pipeline per master on that
// master's own connection, each ending with its `WAIT`. Which replicas a merge needs is the
// ReplicaRule's (./replicas.ts), the same for both.
import calculateSlot from 'cluster-key-slot'
import type { Cluster, Redis } from 'ioredis'
import { deltaKey } from '../keys.js'
import { isCluster, type MergingClient, roundTrip, withMergeScript, withTimeout } from './client.js'
import type { ReplicaRule } from './replicas.js'

/** One key's merge: an all-time hour, or with `day` one day's hour (expiring). */
export interface Merge {
  key: string
  hour: number
  /** A Redis HyperLogLog value: dense, or sparse for a small day-hour. */
  sketch: Buffer
  day?: number
  expireAtMs?: number
  /** A group key's: the set its value joins, and the value. */
  register?: { key: string; member: string }
}

/** What a single Redis is asked besides the merges, to notice that it lost data. */
export interface Checks {
  /** Its run_id (once per connection): another one means another instance. */
  identity: boolean
  /** Keys merged before and not merged now, which must still exist. */
  present: string[]
}

/** What a round trip brought back. */
export interface MergeAnswers {
  /** The server's run_id, when asked for and allowed. */
  runId: string | undefined
  /** Some of the keys that must exist do not. */
  absent: boolean
  /** Per merge, in order: `[error, 1 if the key existed before]`; an error also when not confirmed. */
  results: [unknown, unknown][]
}

/** `WAIT` gets half the store's timeout; the round trips around it the rest. */
const waitMsOf = (timeoutMs: number) => Math.max(10, Math.floor(timeoutMs / 2))

/** The merge command of one merge, for a pipeline or a client. */
const command = ({ key, sketch, expireAtMs, register }: Merge) => {
  if (register) return (c: MergingClient) => c.loghourGroupMerge(key, deltaKey(key), register.key, sketch, register.member)
  return expireAtMs === undefined
    ? (c: MergingClient) => c.loghourMerge(key, deltaKey(key), sketch)
    : (c: MergingClient) => c.loghourMerge(key, deltaKey(key), sketch, expireAtMs)
}

/**
 * Sends `merges` (and the checks, on a single Redis) in one round trip, then `WAIT`s for the
 * replicas the rule asks for on the connection that merged. Merges Redis answered but the replicas
 * did not confirm come back with a `ReplicaShortfall` as their error.
 */
export async function sendMerges(
  client: MergingClient,
  merges: Merge[],
  checks: Checks,
  rule: ReplicaRule,
  timeoutMs: number,
): Promise<MergeAnswers> {
  if (isCluster(client)) {
    return { runId: undefined, absent: false, results: await mergeOnMasters(client, merges, rule, timeoutMs) }
  }
  const commands: ((c: MergingClient) => unknown)[] = []
  if (checks.identity) commands.push((c) => c.info('server'))
  if (checks.present.length > 0) commands.push((c) => c.exists(...checks.present))
  // How many replicas the Redis has now, in the same round trip: the rule never forgets the most.
  const askReplicas = rule.explicit === undefined && merges.length > 0
  if (askReplicas) commands.push((c) => c.info('replication'))
  commands.push(...merges.map(command))
  const answers = await roundTrip(client, commands, timeoutMs)
  const reply: MergeAnswers = { runId: undefined, absent: false, results: answers.slice(answers.length - merges.length) }
  let at = 0
  if (checks.identity) {
    const [error, info] = answers[at++]!
    // An ACL without INFO only hides restarts; missing keys are still noticed.
    if (!error) reply.runId = /run_id:([0-9a-f]+)/.exec(String(info))?.[1]
  }
  if (checks.present.length > 0) {
    const [error, count] = answers[at++]!
    if (error) throw error
    reply.absent = Number(count) < checks.present.length
  }
  if (merges.length === 0) return reply
  const connected = askReplicas ? Number(/connected_slaves:(\d+)/.exec(String(answers[at]?.[1]))?.[1] ?? 0) : 0
  const required = rule.forSingle(connected)
  const waitMs = waitMsOf(timeoutMs)
  // WAIT on the connection that merged: it counts the replicas holding every write before it.
  const acknowledged = required > 0 ? Number(await (client as Redis).wait(required, waitMs)) : 0
  const short = rule.judge('the Redis', required, acknowledged, waitMs)
  if (short) for (const result of reply.results) if (!result[0]) result[0] = short
  return reply
}

/**
 * In a cluster: the merges grouped by the master that serves their slot (as the client last saw
 * the topology), each group in one pipeline on that master's own connection, ending with one
 * `WAIT`. A `WAIT` counts the replicas holding every write of its connection, so it must follow
 * the merges on the node that ran them: through the cluster client a merge and its `WAIT` can
 * reach different nodes during a failover, and a `WAIT` on the promoted replica would confirm a
 * merge its dead master took with it. Merges a master did not confirm come back as errors (kept,
 * merged again); a slot that moved makes the client refresh its map for the next flush.
 */
async function mergeOnMasters(cluster: Cluster, merges: Merge[], rule: ReplicaRule, timeoutMs: number): Promise<[unknown, unknown][]> {
  const answers: [unknown, unknown][] = merges.map(() => [new Error('not sent'), null])
  const groups = new Map<string, { listed: number; at: number[] }>()
  merges.forEach(({ key }, i) => {
    const [master = '', ...replicas] = cluster.slots[calculateSlot(key)] ?? []
    const group = groups.get(master) ?? { listed: 0, at: [] }
    group.listed = Math.max(group.listed, replicas.length)
    group.at.push(i)
    groups.set(master, group)
  })
  const waitMs = waitMsOf(timeoutMs)
  const masters = cluster.nodes('master')
  let moved = false
  await Promise.all(
    [...groups].map(async ([master, { listed, at }]) => {
      const node = masters.find((n) => `${n.options.host}:${n.options.port}` === master)
      if (!node) {
        moved = true
        const error = new Error(`no master known for the slot of ${merges[at[0]!]!.key}; kept to merge again`)
        for (const i of at) answers[i] = [error, null]
        return
      }
      const required = rule.forKeys(
        at.map((i) => merges[i]!.key),
        listed,
      )
      const pipeline = withMergeScript(node).pipeline() as unknown as MergingClient & { exec(): Promise<[Error | null, unknown][] | null> }
      for (const i of at) command(merges[i]!)(pipeline)
      if (required > 0) pipeline.wait(required, waitMs)
      let results: [Error | null, unknown][]
      try {
        results = (await withTimeout(pipeline.exec(), timeoutMs, 'merge')) ?? []
      } catch (error) {
        for (const i of at) answers[i] = [error, null]
        return
      }
      const waited = required > 0 ? results[at.length] : undefined
      const short = waited?.[0] ?? rule.judge(master, required, waited ? Number(waited[1]) : 0, waitMs)
      at.forEach((i, k) => {
        const [error, value] = results[k] ?? [new Error('no answer'), null]
        if (error && /MOVED|ASK|CLUSTERDOWN|TRYAGAIN/.test(error.message)) moved = true
        answers[i] = error || short ? [error ?? short, null] : [null, value]
      })
    }),
  )
  rule.keepOnly(new Set(masters.map((n) => `${n.options.host}:${n.options.port}`)))
  if (moved) cluster.refreshSlotsCache()
  return answers
}
