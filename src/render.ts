import { peakOf, type Stats } from './stats.js'

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

/** The window a windowed answer counts. */
export function renderWindow(window: { from: string; to: string }): string {
  return window.from === window.to ? `Day ${window.from}` : `Days ${window.from} to ${window.to} (inclusive)`
}

const SHADES = [' ', '░', '▒', '▓', '█']
const WEEKDAY_NAMES = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri']

/**
 * The Monday–Friday × 24 table as a heatmap: two columns per hour, shaded by count over the
 * table's maximum in quarters (blank for none), each row's peak hour and count beside it.
 */
export function renderWeekdays(weekdays: readonly (readonly number[])[]): string {
  const max = Math.max(0, ...weekdays.flat())
  const shade = (n: number) => SHADES[n <= 0 || max <= 0 ? 0 : Math.max(1, Math.ceil((n / max) * 4))]!.repeat(2)
  const ruler = Array.from({ length: 8 }, (_, i) =>
    String(i * 3)
      .padStart(2, '0')
      .padEnd(6),
  ).join('')
  const rows = weekdays.map((row, w) => {
    const { peakHour, peakUsers } = peakOf(row)
    const beside = peakHour === null ? 'none' : `peak ${String(peakHour).padStart(2, '0')}:00 ${peakUsers}`
    return `${WEEKDAY_NAMES[w]}  ${row.map(shade).join('')}  ${beside}`
  })
  const legend = `     ${SHADES.slice(1)
    .map((s, i) => `${s} ≤${25 * (i + 1)}%`)
    .join('  ')} of the most, ${max} users`
  return ['Distinct users by weekday and hour', `     ${ruler}`.trimEnd(), ...rows, legend].join('\n')
}

/** The hours under the window they count, and the weekday heatmap when there is one. */
export function renderAnswer(stats: Pick<Stats, 'hours' | 'peakHour' | 'window' | 'weekdays'>): string {
  const parts = [renderHours(stats.hours, stats.peakHour)]
  if (stats.window) parts.unshift(renderWindow(stats.window))
  if (stats.weekdays) parts.push(renderWeekdays(stats.weekdays))
  return parts.join('\n\n')
}

/** The full human report of `loghour analyze`: the answer and the line counters. */
export function renderStats(stats: Stats): string {
  return `${renderAnswer(stats)}\n\n${renderLines(stats)}\n`
}
