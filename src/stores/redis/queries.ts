// Reading the answer: `PFCOUNT` of key lists, in one round trip with a bounded wait. A count of
// several keys unites them in a register set of its own: a query writes no key.
import type { Cluster, Redis } from 'ioredis'
import { HOURS, type NativeGroupValue } from '../../native.js'
import { groupKey, groupsKey, hourKey } from '../keys.js'
import { type MergingClient, roundTrip, withTimeout } from './client.js'
import { combineErrors } from './errors.js'

/**
 * `PFCOUNT` of each key list (0 for an empty one) in one round trip; a key that is not a
 * HyperLogLog is named in the error.
 */
export async function countUnions(client: Redis | Cluster, keyLists: string[][], timeoutMs: number): Promise<number[]> {
  const asked = keyLists.map((keys, i) => [keys, i] as const).filter(([keys]) => keys.length > 0)
  const answers = await withTimeout(
    roundTrip(
      client as MergingClient,
      asked.map(
        ([keys]) =>
          (c: MergingClient) =>
            c.pfcount(...keys),
      ),
      timeoutMs,
    ),
    timeoutMs,
    'PFCOUNT',
  )
  const failure = combineErrors(answers.flatMap(([error], i) => (error ? [{ key: asked[i]![0][0]!, error }] : [])))
  if (failure) throw failure
  const counts = keyLists.map(() => 0)
  answers.forEach(([, n], i) => {
    counts[asked[i]![1]] = Number(n)
  })
  return counts
}

/**
 * `PFCOUNT` of the hour keys `<prefix>0` … `<prefix>23` in one round trip (a pipeline; per-key
 * commands in a cluster), with a bounded wait. A key that is not a HyperLogLog is named in the error.
 *
 * @example
 * ```ts
 * const hours = await readHourCounts(new Redis(), 'error_hour_') // 24 numbers
 * ```
 */
export function readHourCounts(client: Redis | Cluster, prefix: string, timeoutMs = 5000): Promise<number[]> {
  return countUnions(
    client,
    Array.from({ length: HOURS }, (_, hour) => [hourKey(prefix, hour)]),
    timeoutMs,
  )
}

/**
 * Every `groupBy` value's hours as Redis holds them: the 24 sets of values (`SMEMBERS`), then each
 * value's key at each hour it is listed in (`GET`, the raw HyperLogLog), two round trips.
 */
export async function readGroupValues(client: Redis | Cluster, prefix: string, timeoutMs: number): Promise<NativeGroupValue[]> {
  const ask = async (commands: ((c: MergingClient) => unknown)[], what: string) => {
    const answers = await withTimeout(roundTrip(client as MergingClient, commands, timeoutMs), timeoutMs, what)
    const failure = combineErrors(answers.flatMap(([error], i) => (error ? [{ key: `${what} #${i}`, error }] : [])))
    if (failure) throw failure
    return answers.map(([, answer]) => answer)
  }
  const sets = await ask(
    Array.from({ length: HOURS }, (_, hour) => (c: MergingClient) => c.smembers(groupsKey(prefix, hour))),
    'SMEMBERS',
  )
  const listed = sets.flatMap((members, hour) => (members as string[]).map((value) => ({ value, hour })))
  if (listed.length === 0) return []
  const sketches = await ask(
    listed.map(
      ({ value, hour }) =>
        (c: MergingClient) =>
          c.getBuffer(groupKey(prefix, hour, value)),
    ),
    'GET',
  )
  return listed.flatMap((entry, i) => (sketches[i] ? [{ ...entry, sketch: sketches[i] as Buffer }] : []))
}
