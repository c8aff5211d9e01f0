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
