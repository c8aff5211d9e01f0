import type { Stats } from './stats.js'

const BAR_WIDTH = 40
const EIGHTHS = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉']

/** A bar of `value / max` of the full width, drawn in eighths of a character. */
export function bar(value: number, max: number, width = BAR_WIDTH): string {
  if (max <= 0 || value <= 0) return ''
  const eighths = Math.max(1, Math.round((value / max) * width * 8))
  return '█'.repeat(Math.floor(eighths / 8)) + EIGHTHS[eighths % 8]
}

/** The original service's one-line answer, kept verbatim for those who grep their logs for it. */
export function peakLine(peakHour: number | null): string {
  return peakHour === null ? 'No server errors right now' : `Current hour with maximum number of errors ${peakHour}`
}

/** The human answer: the peak hour, then one row per hour with a bar chart. */
export function renderHours(hours: readonly number[], peakHour: number | null): string {
  const max = Math.max(0, ...hours)
  const width = Math.max(5, String(max).length)
  const head =
    peakHour === null
      ? 'No server errors (5xx on Monday–Friday) found'
      : `Peak hour: ${peakHour}:00–${peakHour}:59, ${hours[peakHour]} distinct users (day, IP) hit server errors`
  const rows = hours.map(
    (users, hour) => `${String(hour).padStart(2, '0')}:00  ${String(users).padStart(width)}  ${bar(users, max)}`.trimEnd(),
  )
  return [head, '', `hour   ${'users'.padStart(width)}`, ...rows].join('\n')
}

/** Line counters in one sentence, with invalid lines by reason when there are any. */
export function renderLines(stats: Pick<Stats, 'lines' | 'invalid'>): string {
  const { total, counted, skipped, invalid } = stats.lines
  const reasons = Object.entries(stats.invalid)
    .filter(([, n]) => n > 0)
    .map(([reason, n]) => `${reason} ${n}`)
  return `lines: ${total} read, ${counted} counted, ${skipped} skipped, ${invalid} invalid${reasons.length ? ` (${reasons.join(', ')})` : ''}`
}

/** The full human report of `loghour analyze` and `loghour stats`. */
export function renderStats(stats: Stats): string {
  return `${renderHours(stats.hours, stats.peakHour)}\n\n${renderLines(stats)}\n`
}
