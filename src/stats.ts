import { invalidReasons, type NativeLineCounts } from './native.js'

/** Why a line was counted as invalid. */
export type InvalidReason = 'json' | 'notObject' | 'missingField' | 'wrongType' | 'utf8' | 'badTime' | 'tooLong' | 'clf'

/** Names of every invalid-line reason, in a stable order. */
export const INVALID_REASONS: readonly InvalidReason[] = Object.freeze(invalidReasons() as InvalidReason[])

/** Line counters. `total` counts every non-blank line: `total = counted + skipped + invalid`. */
export interface LineCounts {
  /** Non-blank lines read. */
  total: number
  /** Working-day 5xx lines added to an hour's sketch. */
  counted: number
  /** Well-formed lines that are not a 5xx on Monday–Friday. */
  skipped: number
  /** Malformed lines (see {@link Stats.invalid} for the reasons). */
  invalid: number
  /** Empty lines or lines of only spaces, tabs and carriage returns (ignored, not in `total`). */
  blank: number
}

/** The answer at one moment: distinct (day, user) pairs per hour that saw a 5xx on working days. */
export interface Stats {
  /** `hours[h]` = estimated distinct (day, IP) pairs with a 5xx at hour `h` (what `PFCOUNT` says). */
  hours: number[]
  /** Hour with the most users (earliest on ties), or `null` when every hour is 0. */
  peakHour: number | null
  /** Users at the peak hour (0 when there is none). */
  peakUsers: number
  /** Line counters of this process (a Redis store's `hours` may include other servers' data). */
  lines: LineCounts
  /** Invalid lines by reason. */
  invalid: Record<InvalidReason, number>
  /** With a date window (or `by`): the days `hours` (and `weekdays`) count, `YYYY-MM-DD`, inclusive. */
  window?: { from: string; to: string }
  /** With `by: 'weekday'`: five arrays (Monday … Friday) of 24 distinct-user counts over the window. */
  weekdays?: number[][]
  /** With `daily`: what the per-day sketches of this process hold. */
  daily?: DailyInfo
  /**
   * With `format: 'auto'`: the input streams of this process (files, connections, HTTP bodies)
   * by the reading each decided on (`combined`, `caddy`, `json in message`, …), and how many of
   * them found their first records mostly unreadable.
   */
  streams?: { readings: Record<string, number>; unreadable: number }
  /** With `allUsers`: distinct (day, user) pairs per hour of every user, whatever the status. */
  users?: number[]
  /**
   * With `allUsers`: `hours[h] / users[h]`, the share of hour `h`'s users who met a 5xx (`null`
   * where `users[h]` is 0). Both are HyperLogLog estimates (0.81 % standard error each), so a
   * share is within about ±1.15 % of itself (relative, one standard error): {@link Stats.shareError}.
   */
  share?: (number | null)[]
  /**
   * With `allUsers`: the hour with the largest share among hours with at least `minUsers` users
   * (earliest on ties), or `null` when no hour has that many.
   */
  shareHour?: ShareHour | null
  /** With `allUsers`: the fewest users an hour needs for its share to be ranked. */
  minUsers?: number
  /** With `allUsers`: the relative standard error of a share (two HyperLogLogs at 0.81 % each). */
  shareError?: number
  /** With `allUsers` and `by: 'weekday'`: the Monday–Friday × 24 table of every user. */
  weekdayUsers?: number[][]
  /** With `groupBy`: the field the groups are values of. */
  groupBy?: string
  /** With `groupBy`: the values with the most 5xx users (at most `top`), most first. */
  groups?: GroupStats[]
  /** With `groupBy`: values held (with `(none)` and `(other)`), at most `maxGroups` + 2. */
  groupValues?: number
  /** With `groupBy`: records that went to `(other)` because `maxGroups` values came first. */
  otherRecords?: number
}

/** The hour whose users were hurt the most, as a share. */
export interface ShareHour {
  hour: number
  /** `hurt / users`. */
  share: number
  /** Distinct users with a 5xx at that hour (`hours[hour]`). */
  hurt: number
  /** Distinct users at that hour (`users[hour]`). */
  users: number
}

/** One value of the `groupBy` field: its distinct 5xx users per hour, and over its 24 hours. */
export interface GroupStats {
  /** The value (`(none)`: records without the field; `(other)`: values past `maxGroups`). */
  value: string
  hours: number[]
  /** Distinct (day, user) pairs over the 24 hours (the union, not the sum). */
  users: number
}

/** Relative standard error of a share: √2 × 1.04/√16384 (two HyperLogLogs at 0.81 % each). */
export const SHARE_ERROR = Math.round(Math.SQRT2 * (1.04 / 128) * 10_000) / 10_000

/**
 * The share of each hour's users who met a 5xx, and the hour of the largest share among hours
 * with at least `minUsers` users.
 * @example
 * sharesOf([5, 0], [100, 0], 100) // { share: [0.05, null], shareHour: { hour: 0, share: 0.05, hurt: 5, users: 100 } }
 */
export function sharesOf(hours: readonly number[], users: readonly number[], minUsers: number): Pick<Stats, 'share' | 'shareHour'> {
  const share = users.map((n, h) => (n === 0 ? null : hours[h]! / n))
  let shareHour: ShareHour | null = null
  share.forEach((value, hour) => {
    if (value === null || users[hour]! < minUsers) return
    if (shareHour === null || value > shareHour.share) shareHour = { hour, share: value, hurt: hours[hour]!, users: users[hour]! }
  })
  return { share, shareHour }
}

/** What this process's per-day sketches hold. */
export interface DailyInfo {
  /** Days held (at most `retainDays` + 2). */
  days: number
  /** Bytes of their registers. */
  bytes: number
  /** Counted lines whose day was outside the kept days (counted in the all-time hours only). */
  outside: number
}

/** Peak hour of 24 counts: the earliest hour with the largest non-zero count. */
export function peakOf(hours: readonly number[]): { peakHour: number | null; peakUsers: number } {
  let peakHour: number | null = null
  let peakUsers = 0
  hours.forEach((users, hour) => {
    if (users > peakUsers) {
      peakUsers = users
      peakHour = hour
    }
  })
  return { peakHour, peakUsers }
}

/** The public line counts and invalid reasons of native line counts. */
export function lineCountsOf(counts: NativeLineCounts): Pick<Stats, 'lines' | 'invalid'> {
  const invalid = {} as Record<InvalidReason, number>
  INVALID_REASONS.forEach((reason, i) => {
    invalid[reason] = counts.invalid[i] ?? 0
  })
  const { total, counted, skipped, blank } = counts
  return { lines: { total, counted, skipped, invalid: total - counted - skipped, blank }, invalid }
}

/** Builds the public {@link Stats} object from hour counts and native line counts. */
export function buildStats(hours: number[], counts: NativeLineCounts): Stats {
  return { hours, ...peakOf(hours), ...lineCountsOf(counts) }
}
