import type { DayWindow } from '../days.js'
import type { NativeGroups } from '../native.js'
import type { Shortfall } from './redis/replicas.js'

/**
 * Where a consumer's hourly counts live. The consumer's native sketch set always receives the
 * lines; a store decides what the counts are and where changes go.
 */
export interface HourStore {
  /** `'memory'` or `'redis'`. */
  readonly kind: 'memory' | 'redis'
  /** Distinct 5xx users per hour (24 numbers), and every user per hour when kept. */
  hourCounts(): Promise<HourCounts>
  /**
   * Distinct users per hour over the days of a window (per-day sketches), and with `byWeekday`
   * the Monday–Friday × 24 table too (`[weekday][hour]`, Monday first).
   */
  windowCounts(window: DayWindow, byWeekday: boolean): Promise<WindowCounts>
  /**
   * With `groupBy`: the values with the most users (at most `top`), from every server feeding
   * the store (Redis) or this process (memory); null when grouping is off.
   */
  groupCounts(top: number): Promise<NativeGroups | null>
  /** Makes every counted line durable in the store (Redis merge, or snapshot file). */
  flush(): Promise<void>
  /** Resolves when the store answers now (a Redis PING within the timeout); rejects with why not. */
  ping(): Promise<void>
  /** Final flush, then releases what the store owns. */
  close(): Promise<void>
  /** Why the last flush was not confirmed, while the store is not taking the changes. */
  problem(): Error | undefined
  /** Shards whose last merge did not reach the replicas it needs (Redis; none for memory). */
  replicaShortfalls(): Shortfall[]
}

/** Distinct users per hour: those who met a 5xx, and with all users kept every user. */
export interface HourCounts {
  hours: number[]
  users?: number[]
}

/** What a window query answers: its 24 hours, and the weekday table when asked for. */
export interface WindowCounts extends HourCounts {
  /** Five rows (Monday … Friday) of 24 counts. */
  weekdays?: number[][]
  /** The same table of every user, when kept. */
  userWeekdays?: number[][]
}

/** Bits set in a 24-bit hour mask: how many hours it names. */
export function bitCount(mask: number): number {
  let n = 0
  for (let m = mask; m !== 0; m &= m - 1) n++
  return n
}

/** What a flush did. */
export interface FlushInfo {
  /** Hours merged (Redis) or written (snapshot). */
  hours: number
  /** Per-day sketches (day, hour) merged (Redis) or written (snapshot). */
  dayHours: number
  /** `groupBy` values' hours merged (Redis). */
  groupHours: number
  /** Bytes sent to Redis or written to the snapshot file. */
  bytes: number
  /** Duration of the flush. */
  ms: number
}

/** Callbacks a store reports through (the consumer turns them into events). */
export interface StoreEvents {
  flushed(info: FlushInfo): void
  /** The store became unreachable (reported once per outage). */
  down(error: Error): void
  /** The store is reachable again after an outage. */
  up(info: { downtimeMs: number }): void
  /** The store lost data it had received (e.g. Redis restarted empty): everything is sent again. */
  reset(info: StoreReset): void
  /** An attempt of the final flush at close failed; it is retried until the close timeout. */
  closeAttemptFailed(error: Error): void
}

/** Why a store receives everything again (the `storeReset` event). */
export interface StoreReset {
  /** What showed that the store lost data, e.g. "Redis at … is another instance now (…)". */
  reason: string
  /** Hours with counts, all of which are merged again. */
  hours: number
}

/**
 * Turns flush outcomes into one `down` event per outage and one `up` event per recovery, and
 * keeps why the last one failed.
 */
export class OutageTracker {
  #downSince: number | undefined
  #problem: Error | undefined
  constructor(private readonly events: StoreEvents | undefined) {}

  /** True while the last flush failed. */
  get down(): boolean {
    return this.#downSince !== undefined
  }

  /** Why the last flush failed, while the store is down. */
  get problem(): Error | undefined {
    return this.#problem
  }

  failed(error: Error): void {
    this.#problem = error
    if (this.#downSince !== undefined) return
    this.#downSince = Date.now()
    this.events?.down(error)
  }

  succeeded(info: FlushInfo): void {
    this.#problem = undefined
    if (this.#downSince !== undefined) {
      this.events?.up({ downtimeMs: Date.now() - this.#downSince })
      this.#downSince = undefined
    }
    if (info.hours > 0) this.events?.flushed(info)
  }
}
