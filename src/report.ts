import { peakLine } from './render.js'
import type { InvalidReason, LineCounts } from './stats.js'

/** One stats report of the server log: the original service's lines plus throughput. */
export interface Report {
  /** "Current hour with maximum number of errors H", or "No server errors right now". */
  peak: string
  /** "errors per hour: 16=1 17=4" (hours with errors only), or why there is none. */
  table: string
  /** Throughput and invalid lines since the previous report. */
  throughput: string
}

/** Builds a report from the hours (null if the store could not answer) and line counters. */
export function buildReport(
  hours: number[] | null,
  peakHour: number | null,
  now: { lines: LineCounts; invalid: Record<InvalidReason, number>; at: number },
  before: { lines: LineCounts; invalid: Record<InvalidReason, number>; at: number },
): Report {
  const seconds = Math.max((now.at - before.at) / 1000, 1e-3)
  const lines = now.lines.total - before.lines.total
  const invalid = Object.entries(now.invalid)
    .map(([reason, n]) => [reason, n - before.invalid[reason as InvalidReason]] as const)
    .filter(([, n]) => n > 0)
    .map(([reason, n]) => `${reason} ${n}`)
  const withErrors = hours?.map((users, hour) => [hour, users] as const).filter(([, users]) => users > 0)
  return {
    peak: hours === null ? 'Current hour with maximum number of errors unknown (store unavailable)' : peakLine(peakHour),
    table:
      withErrors === undefined
        ? 'errors per hour: unknown (store unavailable)'
        : withErrors.length > 0
          ? `errors per hour: ${withErrors.map(([h, u]) => `${h}=${u}`).join(' ')}`
          : 'No server errors right now',
    throughput:
      `${Math.round(lines / seconds)} lines/s over the last ${seconds.toFixed(1)} s (${lines} lines, ` +
      `${now.lines.counted - before.lines.counted} counted); invalid: ${invalid.length ? invalid.join(', ') : 'none'}`,
  }
}
