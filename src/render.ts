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

/** A share as a percentage with one decimal (`12.3 %`), `–` for none. */
export function percent(share: number | null | undefined): string {
  return share === null || share === undefined ? '–' : `${(share * 100).toFixed(1)} %`
}

/** The answer's fields the share report reads. */
type ShareAnswer = Pick<Stats, 'hours' | 'peakHour' | 'users' | 'share' | 'shareHour' | 'minUsers' | 'shareError'>

/**
 * With every user counted: both answers in a line each (most users hurt, largest share hurt),
 * then per hour the users hurt, all users and the share, with a bar for each ranking; an hour
 * with fewer than `minUsers` users shows its share but is not ranked (marked `*`).
 */
export function renderShares(stats: ShareAnswer & { users: number[]; share: (number | null)[] }): string {
  const { hours, users, share, minUsers = 1 } = stats
  const most = stats.peakHour === null ? 'none' : `${hh(stats.peakHour)}:00, ${hours[stats.peakHour]} of ${users[stats.peakHour]} users`
  const largest = stats.shareHour
    ? `${hh(stats.shareHour.hour)}:00, ${percent(stats.shareHour.share)} (${stats.shareHour.hurt} of ${stats.shareHour.users} users)`
    : `none (no hour has ${minUsers} users)`
  const head = [
    `Most users hurt:     ${most}`,
    `Largest share hurt:  ${largest}`,
    wrap(
      `(a share is ranked when its hour has at least ${minUsers} users; it is an estimate within about ±${((stats.shareError ?? 0) * 100).toFixed(2)} % of itself)`.split(
        ' ',
      ),
      80,
      ' ',
    ),
  ]
  const maxHurt = Math.max(0, ...hours)
  const ranked = share.map((v, h) => (v !== null && users[h]! >= minUsers ? v : 0))
  const maxShare = Math.max(0, ...ranked)
  const w = Math.max(5, String(Math.max(0, ...users)).length)
  const rows = hours.map((hurt, h) => {
    const small = share[h] !== null && users[h]! < minUsers ? '*' : ' '
    const cells = `${hh(h)}:00  ${String(hurt).padStart(w)}  ${String(users[h]).padStart(w)}  ${percent(share[h]).padStart(7)}${small}`
    return `${cells} ${bar(hurt, maxHurt, 20).padEnd(20)}  ${bar(ranked[h]!, maxShare, 20)}`.trimEnd()
  })
  const title = `hour   ${'hurt'.padStart(w)}  ${'users'.padStart(w)}    share  ${'most users hurt'.padEnd(20)}  largest share hurt`
  const note = rows.some((r) => r.includes('*')) ? [`* fewer than ${minUsers} users: shown, not ranked`] : []
  return [...head, '', title, ...rows, ...note].join('\n')
}

const hh = (hour: number) => String(hour).padStart(2, '0')
const SPARKS = ' ▁▂▃▄▅▆▇█'

/** 24 counts as a one-line sparkline scaled to their maximum. */
export function sparkline(hours: readonly number[]): string {
  const max = Math.max(0, ...hours)
  return hours.map((n) => (n <= 0 || max <= 0 ? '·' : SPARKS[Math.max(1, Math.round((n / max) * 8))])).join('')
}

/** The groups: a ranked list, each value with its users and a sparkline of its 24 hours. */
export function renderGroups(stats: Pick<Stats, 'groupBy' | 'groups' | 'groupValues' | 'otherRecords'>): string {
  const groups = stats.groups ?? []
  const w = Math.max(5, ...groups.map((g) => String(g.users).length))
  const head = `By ${stats.groupBy}: ${groups.length === stats.groupValues ? `${groups.length} values` : `top ${groups.length} of ${stats.groupValues} values`}${stats.otherRecords ? `; ${stats.otherRecords} records of values past --max-groups in (other)` : ''}`
  const rows = groups.map((g) => `${String(g.users).padStart(w)}  ${sparkline(g.hours)}  ${g.value}`)
  return [head, `${'users'.padStart(w)}  ${'00'.padEnd(12)}${'12'.padEnd(11)}23  value`, ...rows].join('\n')
}

/**
 * The hours under the window they count (with every user, the shares beside them), the weekday
 * heatmap when there is one (and by share), and the groups.
 */
export function renderAnswer(stats: Stats | Pick<Stats, 'hours' | 'peakHour' | 'window' | 'weekdays'>): string {
  const full = stats as Stats
  const hours = renderHours(stats.hours, stats.peakHour)
  // With every user, the share table replaces the plain one (it has the same counts and more).
  const parts =
    full.users && full.share ? [hours.split('\n\n')[0]!, renderShares({ ...full, users: full.users, share: full.share })] : [hours]
  if (stats.window) parts.unshift(renderWindow(stats.window))
  if (stats.weekdays) parts.push(renderWeekdays(stats.weekdays))
  if (stats.weekdays && full.weekdayUsers) parts.push(renderWeekdayShares(stats.weekdays, full.weekdayUsers, full.minUsers ?? 1))
  if (full.groups) parts.push(renderGroups(full))
  return parts.join('\n\n')
}

/** The weekday × hour heatmap drawn by share (cells with fewer than `minUsers` users blank). */
export function renderWeekdayShares(hurt: readonly (readonly number[])[], users: readonly (readonly number[])[], minUsers: number): string {
  const shares = hurt.map((row, w) => row.map((n, h) => (users[w]![h]! >= minUsers && users[w]![h]! > 0 ? n / users[w]![h]! : 0)))
  const max = Math.max(0, ...shares.flat())
  const shade = (v: number) => SHADES[v <= 0 || max <= 0 ? 0 : Math.max(1, Math.ceil((v / max) * 4))]!.repeat(2)
  const rows = shares.map((row, w) => {
    const top = row.reduce((best, v, h) => (v > row[best]! ? h : best), 0)
    return `${WEEKDAY_NAMES[w]}  ${row.map(shade).join('')}  ${row[top]! > 0 ? `worst ${hh(top)}:00 ${percent(row[top])}` : 'none'}`
  })
  return [
    `Share of users hurt by weekday and hour (cells with at least ${minUsers} users)`,
    ...rows,
    `     of the largest share, ${percent(max)}`,
  ].join('\n')
}

/** The full human report of `loghour analyze`: the answer and the line counters. */
export function renderStats(stats: Stats): string {
  return `${renderAnswer(stats)}\n\n${renderLines(stats)}\n`
}
