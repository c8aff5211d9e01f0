// Dates of the per-day sketches: `YYYY-MM-DD` strings outside, day numbers (days since
// 1970-01-01 on the team's calendar) inside, and the windows queries ask about.
import { localDay } from './native.js'
import { OptionError, show } from './options.js'

const MS_PER_DAY = 86_400_000

/** Longest window a query may span (ten years and a day): bounds the keys one query names. */
export const MAX_WINDOW_DAYS = 3661

/** The day number of a valid `YYYY-MM-DD` (proleptic Gregorian), or undefined. */
export function dayOf(date: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date)
  if (!m) return undefined
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])]
  const ms = Date.UTC(year, month - 1, day)
  const back = new Date(ms)
  // Date.UTC maps years 0–99 to 1900–1999; setUTCFullYear does not.
  back.setUTCFullYear(year, month - 1, day)
  if (back.getUTCFullYear() !== year || back.getUTCMonth() !== month - 1 || back.getUTCDate() !== day) return undefined
  return Math.round(back.getTime() / MS_PER_DAY)
}

/** `YYYY-MM-DD` of a day number. */
export function dateOf(day: number): string {
  const d = new Date(day * MS_PER_DAY)
  return `${String(d.getUTCFullYear()).padStart(4, '0')}-${String(d.getUTCMonth() + 1).padStart(2, '0')}-${String(d.getUTCDate()).padStart(2, '0')}`
}

/** Today's day number on the zone's calendar (UTC without one), from the clock now. */
export function today(timezone: string | undefined): number {
  return localDay(Date.now(), timezone)
}

/** What a query asks for: a window of days and/or the weekday table. */
export interface StatsQuery {
  /** First day of the window, `YYYY-MM-DD` (inclusive; `to` defaults to today). */
  from?: string
  /** Last day of the window, `YYYY-MM-DD` (inclusive; `from` defaults to `to`'s day). */
  to?: string
  /** The last `days` days, today included (today on the `timezone` calendar); not with from/to. */
  days?: number
  /** `'weekday'`: also the Monday–Friday × 24 table of the window (default window: the retained days). */
  by?: 'weekday'
}

/** A window of days, both ends inclusive. */
export interface DayWindow {
  from: number
  to: number
}

/**
 * The window a query names (undefined when it names none), checked.
 * @throws {OptionError} for a malformed date, a reversed or too long window, or days with from/to.
 */
export function windowOf(query: StatsQuery, timezone: string | undefined): DayWindow | undefined {
  if (typeof query !== 'object' || query === null) throw new OptionError('query', `loghour: stats() takes an object, got ${show(query)}`)
  for (const key of Object.keys(query)) {
    if (!['from', 'to', 'days', 'by'].includes(key)) {
      throw new OptionError(key, `loghour: unknown stats() option "${key}"; known: from, to, days, by`)
    }
  }
  const date = (name: 'from' | 'to'): number | undefined => {
    const value = query[name]
    if (value === undefined) return undefined
    const day = typeof value === 'string' ? dayOf(value) : undefined
    if (day === undefined) throw new OptionError(name, `loghour: invalid "${name}": expected a date YYYY-MM-DD, got ${show(value)}`)
    return day
  }
  if (query.by !== undefined && query.by !== 'weekday') {
    throw new OptionError('by', `loghour: invalid "by": expected "weekday", got ${show(query.by)}`)
  }
  const [from, to] = [date('from'), date('to')]
  if (query.days !== undefined) {
    if (from !== undefined || to !== undefined)
      throw new OptionError('days', 'loghour: "days" counts back from today: give it, or from/to, not both')
    if (!Number.isInteger(query.days) || query.days < 1 || query.days > MAX_WINDOW_DAYS) {
      throw new OptionError('days', `loghour: invalid "days": expected an integer from 1 to ${MAX_WINDOW_DAYS}, got ${show(query.days)}`)
    }
    const last = today(timezone)
    return { from: last - query.days + 1, to: last }
  }
  if (from === undefined && to === undefined) return undefined
  const window = { from: from ?? to!, to: to ?? today(timezone) }
  if (window.from > window.to) {
    throw new OptionError('from', `loghour: "from" (${dateOf(window.from)}) is after "to" (${dateOf(window.to)})`)
  }
  if (window.to - window.from + 1 > MAX_WINDOW_DAYS) {
    throw new OptionError('from', `loghour: a window spans at most ${MAX_WINDOW_DAYS} days, got ${window.to - window.from + 1}`)
  }
  return window
}
