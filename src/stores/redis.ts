// The Redis store: the consumer's sketches are merged into Redis (or a Redis Cluster) by delta,
// kept until Redis confirms them, and merged again whole when Redis turns out to have lost data.
// The connection, the merges, the replica rule and the queries live in ./redis/.
import type { Cluster, Redis } from 'ioredis'
import { type DayWindow, dateOf } from '../days.js'
import {
  dayStartMs,
  groupCountsOf,
  HOURS,
  type NativeDayHours,
  type NativeGroupHours,
  type NativeGroups,
  type NativeSketchSet,
} from '../native.js'
import type { RedisTls } from '../settings.js'
import { dayKey, groupKey, groupsKey, hourKey } from './keys.js'
import { isCluster, type MergingClient, withTimeout } from './redis/client.js'
import { RedisConnection } from './redis/connection.js'
import { combineErrors, explain } from './redis/errors.js'
import { type Checks, type Merge, sendMerges } from './redis/merges.js'
import { countUnions, readGroupValues } from './redis/queries.js'
import { ReplicaRule, type Shortfall } from './redis/replicas.js'
import { type HourCounts, type HourStore, OutageTracker, type StoreEvents, type WindowCounts } from './store.js'

export { combineErrors, explain } from './redis/errors.js'
export { readHourCounts } from './redis/queries.js'
export { ReplicaShortfall } from './redis/replicas.js'

/**
 * An idle store asks Redis something at least this often (a `PING` when nothing else was
 * answered), so an outage shows (`storeDown`, `/readyz`, `loghour_store_up`) within seconds even
 * when no line arrives.
 */
const HEALTH_CHECK_MS = 2000

/** A cluster's shards (CLUSTER SHARDS, failed replicas too) are read again after this long. */
const SHARDS_REFRESH_MS = 5000

/**
 * Merges sent in one round trip at most: a flush of many day-hours (a replay of months) goes in
 * batches, so its memory (≤ 256 values of 12 KB) and each turn of the event loop stay bounded.
 */
const MERGES_PER_ROUND_TRIP = 256

/** Bit mask of the hours set in `mask`, as key names. */
const hoursOf = (mask: number): number[] => Array.from({ length: HOURS }, (_, h) => h).filter((h) => (mask & (1 << h)) !== 0)

/** The day numbers of a window, in order. */
const daysOf = ({ from, to }: DayWindow): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i)

/** A sketch set whose hours are kept under one key prefix: the 5xx users, or every user. */
interface Family {
  prefix: string
  sketches: NativeSketchSet
  /** Hours merged at least once into the current Redis instance. */
  merged: number
}

/** What one flush's round trips confirmed, and what not, per family. */
interface FlushReply {
  /** The server's run_id, when asked for and allowed. */
  runId: string | undefined
  /** Some of the keys that must exist do not. */
  absent: boolean
  /** Hours merged, and of those the ones whose key did not exist before. */
  merged: number[]
  created: number[]
  failures: { key: string; error: unknown }[]
  /** What was not confirmed, marked changed again at the end of the flush. */
  failedMask: number[]
  failedDays: NativeDayHours[][]
  failedGroups: NativeGroupHours[]
}

/** One key to merge, and what its confirmation (or not) means. */
interface Pending {
  family: number
  hour: number
  day?: number
  /** A `groupBy` value's hour (the 5xx users' family). */
  group?: { index: number; value: string }
}

export interface RedisStoreOptions {
  keyPrefix: string
  /** With all users kept (`sketches.users()`): their hour keys' prefix. */
  usersKeyPrefix?: string | undefined
  /** Longest wait for Redis's answer to a flush or a count. */
  timeoutMs: number
  /** How long `close()` retries the final flush. */
  closeTimeoutMs: number
  events: StoreEvents
  /** For a `rediss://` URL: a CA to trust, a client certificate and key (PEM). */
  tls?: RedisTls
  /**
   * Replicas that must hold a merge (`WAIT`); undefined: the replicas each shard is configured
   * with, as far as they were ever seen (see ./redis/replicas.ts).
   */
  minReplicas?: number | undefined
  /** With per-day sketches: how long day keys live, on which calendar. */
  daily?: { retainDays: number; timezone: string | undefined }
}

/**
 * Keeps the hourly counts in Redis (`<prefix>0` … `<prefix>23`). The consumer's sketches keep
 * everything this process counted; a flush merges each hour that changed since the last
 * confirmed flush (register-wise max, so sending the whole hour equals sending the change).
 * Unless Redis confirms, the hour stays marked for the next flush. When Redis turns out to have
 * lost data (a restart without persistence, another instance, a missing key), everything is
 * merged again.
 */
export class RedisStore implements HourStore {
  readonly kind = 'redis'
  readonly #connection: RedisConnection
  readonly #sketches: NativeSketchSet
  /** The 5xx users first, then every user when kept. */
  readonly #families: Family[]
  readonly #options: RedisStoreOptions
  readonly #outage: OutageTracker
  /** The connection on which the server's identity was last checked. */
  #identityChecked = -1
  #runId: string | undefined
  #running: Promise<void> | undefined
  #queued: Promise<void> | undefined
  #closed = false
  /** When Redis last answered anything (a merge, a count, a PING). */
  #answeredAt = 0
  /** Flushes an idle store now and then, which PINGs Redis (see {@link HEALTH_CHECK_MS}). */
  readonly #healthCheck: NodeJS.Timeout
  /** How many replicas must confirm a merge, per shard. */
  readonly #replicas: ReplicaRule
  /** When a cluster's shards were last read (CLUSTER SHARDS). */
  #shardsReadAt = 0
  /** After close: the final counts, or why there are none. */
  #final: (HourCounts & { groups?: NativeGroups }) | { error: Error } | undefined

  constructor(target: string | string[] | Redis | Cluster, sketches: NativeSketchSet, options: RedisStoreOptions) {
    this.#sketches = sketches
    const users = sketches.users()
    this.#families = [{ prefix: options.keyPrefix, sketches, merged: 0 }]
    if (users && options.usersKeyPrefix !== undefined) this.#families.push({ prefix: options.usersKeyPrefix, sketches: users, merged: 0 })
    this.#options = options
    this.#outage = new OutageTracker(options.events)
    this.#replicas = new ReplicaRule(options.minReplicas)
    this.#connection = new RedisConnection(target, options)
    this.#healthCheck = setInterval(() => {
      if (this.#running === undefined && Date.now() - this.#answeredAt >= HEALTH_CHECK_MS) this.flush().catch(() => {})
    }, HEALTH_CHECK_MS)
    this.#healthCheck.unref()
  }

  /**
   * Merges every local change into Redis. One flush runs at a time; callers arriving during a
   * flush share the one that follows it (so periodic flushes never pile up behind a slow
   * Redis). Rejects if Redis did not confirm every merge; the changes go with the next flush.
   */
  flush(): Promise<void> {
    if (this.#final) return 'error' in this.#final ? Promise.reject(this.#final.error) : Promise.resolve()
    if (this.#running === undefined) {
      const run = this.#flushOnce()
      this.#running = run.finally(() => (this.#running = undefined))
      return this.#running
    }
    this.#queued ??= this.#running
      .catch(() => {})
      .then(() => {
        this.#queued = undefined
        return this.flush()
      })
    return this.#queued
  }

  async #flushOnce(): Promise<void> {
    const started = Date.now()
    const done = { hours: 0, dayHours: 0, groupHours: 0, bytes: 0 }
    let answered = false
    // A second pass only when the first found that Redis lost what it had.
    for (let pass = 0; pass < 2; pass++) {
      // Nothing changed: nothing can be lost, and Redis is not asked, except to identify a new
      // connection's server (a restart is noticed while idle too), and at close, where Redis
      // must show that it still holds what it confirmed.
      const current = await this.#connection.client
      const identify = () => this.#identityChecked !== this.#connection.epoch && !isCluster(current)
      const families = this.#families
      const verify = (current.status === 'ready' && identify()) || (this.#closed && families.some((f) => f.merged !== 0))
      const idle = families.every((f) => f.sketches.dirtyHours() === 0 && !f.sketches.hasDirtyDays()) && !this.#sketches.hasDirtyGroups()
      if (idle && !verify) {
        // Idle: still ask Redis now and then, or an outage would show only with the next line.
        if (pass === 0 && Date.now() - this.#answeredAt >= HEALTH_CHECK_MS) answered = await this.#probe()
        break
      }
      let client: MergingClient
      try {
        client = await this.#connection.ready()
      } catch (error) {
        throw this.#failed(error as Error)
      }
      if (this.#connection.unanswered > 0) {
        // Redis has not answered the previous flush: sending more would only queue up.
        throw this.#failed(new Error(`Redis at ${this.#connection.where} has not answered the previous flush (stalled?)`))
      }
      if (isCluster(client)) await this.#readShards(client)
      const dirty = families.map((f) => f.sketches.takeDirty())
      const dirtyDays = families.map((f) => f.sketches.takeDirtyDays())
      const dirtyGroups = this.#sketches.takeDirtyGroups()
      const connection = this.#connection.epoch
      // A single Redis also confirms that the keys merged before and not merged now are there.
      const checks: Checks = {
        identity: identify(),
        present: isCluster(client) ? [] : families.flatMap((f, i) => hoursOf(f.merged & ~dirty[i]!).map((h) => hourKey(f.prefix, h))),
      }
      let reply: FlushReply
      try {
        reply = await this.#sendAll(client, dirty, dirtyDays, dirtyGroups, checks, done)
      } catch (error) {
        throw this.#failed(explain(error))
      }
      answered = true
      this.#answeredAt = Date.now()
      if (checks.identity) this.#identityChecked = connection
      this.#requeue(reply)
      const lost = this.#lost(reply)
      families.forEach((f, i) => {
        f.merged |= reply.merged[i]!
      })
      const failure = combineErrors(reply.failures)
      if (failure) throw this.#failed(failure)
      if (!lost) break
      // Everything this process counted goes again: idempotent, and the lost part comes back.
      for (const f of families) {
        f.merged = 0
        f.sketches.markDirty(2 ** HOURS - 1)
        f.sketches.markDirtyDays(f.sketches.dayHours())
      }
      this.#sketches.markAllGroupsDirty()
      this.#options.events.reset({ reason: lost, hours: hoursOf(this.#sketches.dirtyHours()).length })
    }
    if (answered) this.#outage.succeeded({ ...done, ms: Date.now() - started })
  }

  /**
   * Merges the dirty hours, then the dirty day-hours, in round trips of at most
   * {@link MERGES_PER_ROUND_TRIP} keys, each exported only when its round trip goes (memory and
   * event-loop time stay bounded however many day-hours a flush has). A round trip that fails
   * puts back what it and the ones after it were to merge, and the flush fails.
   */
  async #sendAll(
    client: MergingClient,
    dirty: number[],
    dirtyDays: NativeDayHours[][],
    dirtyGroups: NativeGroupHours[],
    checks: Checks,
    done: { hours: number; dayHours: number; groupHours: number; bytes: number },
  ): Promise<FlushReply> {
    const families = this.#families
    const reply: FlushReply = {
      runId: undefined,
      absent: false,
      merged: families.map(() => 0),
      created: families.map(() => 0),
      failures: [],
      failedMask: families.map(() => 0),
      failedDays: families.map(() => []),
      failedGroups: [],
    }
    const pending: Pending[] = dirty.flatMap((mask, family) => hoursOf(mask).map((hour) => ({ family, hour })))
    if (this.#options.daily) {
      dirtyDays.forEach((pairs, family) => {
        for (const { day, hours: mask } of pairs) for (const hour of hoursOf(mask)) pending.push({ family, hour, day })
      })
    }
    for (const { index, value, hours: mask } of dirtyGroups) {
      for (const hour of hoursOf(mask)) pending.push({ family: 0, hour, group: { index, value } })
    }
    /** Not confirmed: marked changed again when the flush ends. */
    const requeue = ({ family, hour, day, group }: Pending) => {
      if (group) reply.failedGroups.push({ ...group, hours: 1 << hour })
      else if (day === undefined) reply.failedMask[family]! |= 1 << hour
      else reply.failedDays[family]!.push({ day, hours: 1 << hour })
    }
    for (let from = 0, first = true; first || from < pending.length; from += MERGES_PER_ROUND_TRIP, first = false) {
      const items = pending.slice(from, from + MERGES_PER_ROUND_TRIP)
      const batch = items.map((p) => this.#mergeOf(p))
      let answers: Awaited<ReturnType<typeof sendMerges>>
      try {
        answers = await this.#roundTrip(client, batch, first ? checks : { identity: false, present: [] })
      } catch (error) {
        // Not confirmed: this round trip's keys and those after it stay dirty.
        pending.slice(from).forEach(requeue)
        this.#requeue(reply)
        throw error
      }
      if (first) {
        reply.runId = answers.runId
        reply.absent = answers.absent
      }
      answers.results.forEach(([error, existed], k) => {
        const item = items[k]!
        if (error) {
          reply.failures.push({ key: batch[k]!.key, error })
          requeue(item)
        } else if (item.group !== undefined) done.groupHours++
        else if (item.day !== undefined) done.dayHours++
        else {
          done.hours++
          reply.merged[item.family]! |= 1 << item.hour
          if (Number(existed) === 0) reply.created[item.family]! |= 1 << item.hour
        }
      })
      done.bytes += batch.reduce((n, m) => n + m.sketch.length, 0)
    }
    return reply
  }

  /** One round trip of merges within the timeout; its answer is awaited even after we stop waiting. */
  #roundTrip(client: MergingClient, merges: Merge[], checks: Checks): Promise<Awaited<ReturnType<typeof sendMerges>>> {
    const sent = this.#connection.track(sendMerges(client, merges, checks, this.#replicas, this.#options.timeoutMs))
    return withTimeout(sent, this.#options.timeoutMs, 'merge')
  }

  /**
   * A cluster's shards as configured (CLUSTER SHARDS lists failed replicas too), every few
   * seconds: a replica that fails must not lower the replicas a merge needs. Where it cannot be
   * read (an older Redis, an ACL without it), the replicas the slot map lists are the floor.
   */
  async #readShards(cluster: Cluster): Promise<void> {
    if (this.#replicas.explicit !== undefined || Date.now() - this.#shardsReadAt < SHARDS_REFRESH_MS) return
    this.#shardsReadAt = Date.now()
    const node = cluster.nodes('master')[0]
    if (!node) return
    try {
      this.#replicas.noteShards(await withTimeout(node.call('CLUSTER', 'SHARDS'), this.#options.timeoutMs, 'CLUSTER SHARDS'))
    } catch {
      // the slot map's replicas are the floor (ReplicaRule.forKeys)
    }
  }

  /** A PING of an idle store: true once answered; an outage otherwise (thrown, as a flush's). */
  async #probe(): Promise<boolean> {
    try {
      await this.ping()
    } catch (error) {
      this.#outage.failed(error as Error)
      throw error
    }
    return true
  }

  /** What a flush did not get confirmed: marked changed again. */
  #requeue(reply: FlushReply): void {
    this.#families.forEach((f, i) => {
      f.sketches.markDirty(reply.failedMask[i]!)
      f.sketches.markDirtyDays(reply.failedDays[i]!)
    })
    this.#sketches.markDirtyGroups(reply.failedGroups)
  }

  /**
   * The merge of a family's all-time hour, of one day's hour (which also sets the key's expiry),
   * or of a group value's hour (which also adds the value to the hour's set of values).
   */
  #mergeOf({ family, hour, day, group }: Pending): Merge {
    const { prefix, sketches } = this.#families[family]!
    if (group) {
      return {
        key: groupKey(prefix, hour, group.value),
        hour,
        register: { key: groupsKey(prefix, hour), member: group.value },
        sketch: sketches.exportGroupHour(group.index, hour),
      }
    }
    if (day === undefined) return { key: hourKey(prefix, hour), hour, sketch: sketches.exportHour(hour) }
    const { retainDays, timezone } = this.#options.daily!
    return {
      key: dayKey(prefix, hour, dateOf(day)),
      hour,
      day,
      // The key lives through day + retainDays on the team's calendar.
      expireAtMs: dayStartMs(day + retainDays + 1, timezone),
      sketch: sketches.exportDayHour(day, hour),
    }
  }

  /** Why what Redis answered shows that it lost data this process merged before, or undefined. */
  #lost(reply: FlushReply): string | undefined {
    const previous = this.#runId
    if (reply.runId !== undefined) this.#runId = reply.runId
    if (previous !== undefined && reply.runId !== undefined && reply.runId !== previous) {
      return `Redis at ${this.#connection.where} is another instance now (run_id ${previous.slice(0, 8)}… → ${reply.runId.slice(0, 8)}…: restarted or failed over)`
    }
    const missing = this.#families.flatMap((f, i) => hoursOf(reply.created[i]! & f.merged).map((h) => hourKey(f.prefix, h)))
    if (missing.length > 0 || reply.absent) {
      const which = missing.length > 0 ? missing.join(', ') : 'hour keys it had'
      return `Redis at ${this.#connection.where} no longer has ${which} (restarted empty, flushed or evicted)`
    }
    return undefined
  }

  #failed(error: Error): Error {
    this.#outage.failed(error)
    return new Error(`loghour: Redis merge not confirmed (changes kept locally): ${error.message}`, { cause: error })
  }

  /**
   * Flushes, then reads `PFCOUNT` of the 24 hour keys of each family (one round trip). After
   * close: the counts read then.
   */
  async hourCounts(): Promise<HourCounts> {
    if (this.#final) {
      if ('error' in this.#final) throw this.#final.error
      return this.#final
    }
    await this.flush()
    const counts = await this.#counts(await this.#connection.ready())
    this.#answeredAt = Date.now()
    return counts
  }

  /** A PING within the timeout (readiness probes: an idle store is not asked otherwise). */
  async ping(): Promise<void> {
    if (this.#final) throw new Error('the store is closed')
    const client = await this.#connection.ready()
    try {
      await withTimeout(client.ping(), this.#options.timeoutMs, 'ping')
    } catch (error) {
      throw explain(error as Error)
    }
    this.#answeredAt = Date.now()
  }

  async #counts(client: MergingClient): Promise<HourCounts> {
    const keys = this.#families.flatMap((f) => Array.from({ length: HOURS }, (_, hour) => [hourKey(f.prefix, hour)]))
    const counts = await countUnions(client, keys, this.#options.timeoutMs)
    const hours = counts.slice(0, HOURS)
    return this.#families.length > 1 ? { hours, users: counts.slice(HOURS) } : { hours }
  }

  /**
   * Flushes, then the window's hours: `PFCOUNT` of each hour's day keys (one round trip); with
   * `byWeekday` also the table, one `PFCOUNT` per (weekday, hour) of that weekday's day keys, in
   * the same round trip. Read-only: a count of several keys unites them without writing any key,
   * so a query never leaves anything behind, whatever the user may run.
   */
  async windowCounts(window: DayWindow, byWeekday: boolean): Promise<WindowCounts> {
    const days = daysOf(window)
    const byDay = Array.from({ length: 5 }, (_, w) => days.filter((day) => (((day + 3) % 7) + 7) % 7 === w))
    // Per family: its 24 hours, then with byWeekday five rows of 24.
    const lists = this.#families.flatMap(({ prefix }) => {
      const keysOf = (hour: number, ds: number[]) => ds.map((day) => dayKey(prefix, hour, dateOf(day)))
      const hours = Array.from({ length: HOURS }, (_, hour) => keysOf(hour, days))
      return byWeekday ? [...hours, ...byDay.flatMap((ds) => Array.from({ length: HOURS }, (_, h) => keysOf(h, ds)))] : hours
    })
    const counts = await this.#unions(lists)
    const per = byWeekday ? 6 * HOURS : HOURS
    const familyCounts = (i: number) => {
      const part = counts.slice(i * per, (i + 1) * per)
      const weekdays = byWeekday ? Array.from({ length: 5 }, (_, w) => part.slice((w + 1) * HOURS, (w + 2) * HOURS)) : undefined
      return { hours: part.slice(0, HOURS), weekdays }
    }
    const errors = familyCounts(0)
    const answer: WindowCounts = { hours: errors.hours }
    if (errors.weekdays) answer.weekdays = errors.weekdays
    if (this.#families.length > 1) {
      const users = familyCounts(1)
      answer.users = users.hours
      if (users.weekdays) answer.userWeekdays = users.weekdays
    }
    return answer
  }

  /**
   * With `groupBy`: flushes, then reads every value's group keys (every server's values) and
   * ranks them; null when grouping is off.
   */
  async groupCounts(top: number): Promise<NativeGroups | null> {
    if (this.#sketches.groupInfo() === null) return null
    if (this.#final) {
      if ('error' in this.#final) throw this.#final.error
      const groups = this.#final.groups ?? groupCountsOf([], 0)
      return { ...groups, groups: groups.groups.slice(0, top) }
    }
    const groups = await this.#readGroups(await this.#queryClient())
    return { ...groups, groups: groups.groups.slice(0, top) }
  }

  /** Every value's counts from the group keys (all of them: `top` is applied by the reader). */
  async #readGroups(client: MergingClient): Promise<NativeGroups> {
    return groupCountsOf(await readGroupValues(client, this.#options.keyPrefix, this.#options.timeoutMs))
  }

  /** The client for a read of the day keys, after a flush (so it includes this process's lines). */
  async #queryClient(): Promise<MergingClient> {
    if (this.#final) throw 'error' in this.#final ? this.#final.error : new Error('the store is closed')
    await this.flush()
    return this.#connection.ready()
  }

  /** `PFCOUNT` of each key list (0 for an empty one), after a flush, in one round trip. */
  async #unions(keyLists: string[][]): Promise<number[]> {
    return countUnions(await this.#queryClient(), keyLists, this.#options.timeoutMs)
  }

  /** Why the last flush was not confirmed (the store is not taking the changes now), or undefined. */
  problem(): Error | undefined {
    return this.#outage.problem
  }

  /** Shards whose last merge did not reach the replicas it needs. */
  replicaShortfalls(): Shortfall[] {
    return this.#replicas.shortfalls()
  }

  /**
   * Final flush, retried with backoff until `closeTimeoutMs` passes, then the final counts are
   * read (for `hourCounts()` after close) and the connection it owns is closed. Rejects if
   * changes could not be merged.
   */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    clearInterval(this.#healthCheck)
    const { closeTimeoutMs, timeoutMs } = this.#options
    const deadline = Date.now() + closeTimeoutMs
    try {
      for (let delay = 50; ; delay = Math.min(delay * 2, 1000)) {
        try {
          // Each attempt ends by the deadline, even one waiting for a Redis that does not answer.
          await withTimeout(this.flush(), closeTimeoutMs === 0 ? timeoutMs : Math.max(deadline - Date.now(), 1), 'final flush')
          break
        } catch (error) {
          this.#options.events.closeAttemptFailed(error as Error)
          // The last attempt is made at the deadline itself.
          const wait = Math.min(delay, deadline - Date.now())
          if (wait <= 0) {
            this.#final = { error: error as Error }
            throw error
          }
          await new Promise((r) => setTimeout(r, wait))
        }
      }
      try {
        const client = await this.#connection.ready()
        const counts = await this.#counts(client)
        this.#final = this.#sketches.groupInfo() === null ? counts : { ...counts, groups: await this.#readGroups(client) }
      } catch (error) {
        this.#final = { error: new Error(`loghour: changes merged, but the final counts could not be read: ${(error as Error).message}`) }
      }
    } finally {
      await this.#connection.close()
    }
  }
}
