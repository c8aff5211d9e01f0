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
  const hh = String(peakHour).padStart(2, '0')
  const head =
    peakHour === null
      ? 'No server errors (5xx on Monday–Friday) found'
      : wrap(`Peak hour: ${hh}:00–${hh}:59, ${hours[peakHour]} distinct users (day, IP) hit server errors`.split(' '), 80)
  const rows = hours.map((users, hour) =>
    `${String(hour).padStart(2, '0')}:00  ${String(users).padStart(width)}  ${bar(users, max)}`.trimEnd(),
  )
  return [head, '', `hour   ${'users'.padStart(width)}`, ...rows].join('\n')
}

/** Words joined by spaces into lines of at most `width` columns; continuation lines are indented. */
function wrap(words: string[], width: number, indent = '  '): string {
  const lines: string[] = []
  let line = ''
  for (const word of words) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line)
      line = indent + word
    } else line = line ? `${line} ${word}` : word
  }
  return [...lines, line].join('\n')
}

/**
 * The line counters, and invalid lines by reason when there are any, in lines of at most
 * `width` (80) columns.
 */
export function renderLines(stats: Pick<Stats, 'lines' | 'invalid'>, width = 80): string {
  const { total, counted, skipped, invalid } = stats.lines
  const summary = wrap(['lines:', `${total} read,`, `${counted} counted,`, `${skipped} skipped,`, `${invalid} invalid`], width)
  const reasons = Object.entries(stats.invalid).filter(([, n]) => n > 0)
  if (reasons.length === 0) return summary
  const words = reasons.map(([reason, n], i) => `${reason} ${n}${i < reasons.length - 1 ? ',' : ''}`)
  return `${summary}\n${wrap(['invalid:', ...words], width)}`
}

/** The full human report of `loghour analyze` and `loghour stats`. */
export function renderStats(stats: Stats): string {
  return `${renderHours(stats.hours, stats.peakHour)}\n\n${renderLines(stats)}\n`
}
