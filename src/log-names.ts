// The log file's names and rules, without the writer: `{time:FORMAT}` templates (loguru's
// tokens), rotation settings, rotated names. Pure functions, so the settings (which the library
// loads) check LOG_FILENAME and LOG_FILE_ROTATION without loading pino.
import { existsSync } from 'node:fs'
import { extname } from 'node:path'

/** When the log file is rotated; every field that is set is a reason to rotate. */
export interface Rotation {
  /** When the file reaches this size. */
  bytes?: number
  /** This long after the file was opened. */
  everyMs?: number
  /** At the start of every hour, day (local midnight) or week (Monday, local midnight). */
  at?: 'hour' | 'day' | 'week'
  /** Every day at this local time, minutes after midnight. */
  dailyAt?: number
}

const SIZE_UNITS: Record<string, number> = { '': 1, k: 1e3, m: 1e6, g: 1e9, t: 1e12 }
const INTERVAL_MS: Record<string, number> = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 7 * 86400e3 }

/**
 * Parses loguru's rotation forms: a size (`500 MB`, `1 GiB`, `100 KB`; `b` is bits, `B` bytes,
 * `i` binary multiples), an interval (`12 hours`, `1 day`, `2 weeks`), `hourly`, `daily`,
 * `weekly`, a time of day (`00:00`), several of them joined by `,` or ` or `, and `none`.
 * @returns undefined when the text is none of these.
 */
export function parseRotation(raw: string): Rotation | undefined {
  const text = raw.trim().toLowerCase()
  if (text === '' || text === 'none' || text === 'never') return {}
  const rotation: Rotation = {}
  for (const part of raw.trim().split(/\s*,\s*|\s+or\s+/i)) {
    const size = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(i?)([bB])$/i.exec(part)
    const interval = /^(\d+(?:\.\d+)?)\s*(s|sec|seconds?|m|min|minutes?|h|hours?|d|days?|w|weeks?)$/i.exec(part)
    const clock = /^([01]?\d|2[0-3]):([0-5]\d)$/.exec(part)
    const word = part.toLowerCase()
    if (size && (size[2] !== '' || size[3] === '')) {
      const multiple = size[3] ? 1024 ** ' kmgt'.indexOf(size[2]!.toLowerCase()) : SIZE_UNITS[size[2]!.toLowerCase()]!
      rotation.bytes = Math.ceil((Number(size[1]) * multiple) / (size[4] === 'b' ? 8 : 1))
    } else if (interval) rotation.everyMs = Number(interval[1]) * INTERVAL_MS[interval[2]![0]!.toLowerCase()]!
    else if (word === 'hourly' || word === 'daily' || word === 'weekly')
      rotation.at = ({ hourly: 'hour', daily: 'day', weekly: 'week' } as const)[word]
    else if (clock) rotation.dailyAt = Number(clock[1]) * 60 + Number(clock[2])
    else return undefined
    if ((rotation.bytes !== undefined && !(rotation.bytes > 0)) || (rotation.everyMs !== undefined && !(rotation.everyMs > 0)))
      return undefined
  }
  return rotation
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0')
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December']
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday']

/** loguru's date tokens, longest first so that `MMMM` wins over `MM`. */
const TOKENS = /\[([^\]]*)\]|YYYY|YY|Q|MMMM|MMM|MM|M|DDDD|DDD|DD|D|dddd|ddd|d|E|A|HH|H|hh|h|mm|m|ss|s|S{1,6}|ZZ|Z|zz|X|x/g

/** Formats `date` with loguru's tokens (`YYYY-MM-DD`, `HH-mm-ss_SSSSSS`, …); `!UTC` at the end means UTC. */
export function formatTime(format: string, date: Date): string {
  const utc = format.endsWith('!UTC')
  const f = utc ? format.slice(0, -4) : format
  const offset = utc ? 0 : -date.getTimezoneOffset()
  // Local fields are the UTC fields of the instant shifted by the local offset.
  const at = new Date(date.getTime() + offset * 60_000)
  const [year, month, day, weekday] = [at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate(), at.getUTCDay()]
  const [hour, minute, second] = [at.getUTCHours(), at.getUTCMinutes(), at.getUTCSeconds()]
  const dayOfYear = Math.floor((Date.UTC(year, month, day) - Date.UTC(year, 0, 1)) / 86400e3) + 1
  const zone = (sep: string) => `${offset < 0 ? '-' : '+'}${pad(Math.floor(Math.abs(offset) / 60))}${sep}${pad(Math.abs(offset) % 60)}`
  return f.replace(TOKENS, (token, literal: string | undefined) => {
    if (literal !== undefined) return literal
    if (token[0] === 'S') return pad(date.getMilliseconds() * 1000, 6).slice(0, token.length)
    switch (token) {
      case 'YYYY':
        return pad(year, 4)
      case 'YY':
        return pad(year % 100)
      case 'Q':
        return String(Math.floor(month / 3) + 1)
      case 'MMMM':
        return MONTHS[month]!
      case 'MMM':
        return MONTHS[month]!.slice(0, 3)
      case 'MM':
        return pad(month + 1)
      case 'M':
        return String(month + 1)
      case 'DDDD':
        return pad(dayOfYear, 3)
      case 'DDD':
        return String(dayOfYear)
      case 'DD':
        return pad(day)
      case 'D':
        return String(day)
      case 'dddd':
        return DAYS[weekday]!
      case 'ddd':
        return DAYS[weekday]!.slice(0, 3)
      case 'd':
        return String(weekday)
      case 'E':
        return String(weekday === 0 ? 7 : weekday)
      case 'A':
        return hour < 12 ? 'AM' : 'PM'
      case 'HH':
        return pad(hour)
      case 'H':
        return String(hour)
      case 'hh':
        return pad(hour % 12 || 12)
      case 'h':
        return String(hour % 12 || 12)
      case 'mm':
        return pad(minute)
      case 'm':
        return String(minute)
      case 'ss':
        return pad(second)
      case 's':
        return String(second)
      case 'ZZ':
        return zone('')
      case 'Z':
        return zone(':')
      case 'zz':
        return utc ? 'UTC' : ''
      case 'X':
        return String(Math.floor(date.getTime() / 1000))
      default:
        return String(date.getTime() * 1000) // x: microseconds
    }
  })
}

/** A placeholder, or an escaped brace. */
const PLACEHOLDER = /\{\{|\}\}|\{([^{}]*)\}/g

/** loguru's file-name time: `{time}` alone. */
const FILE_TIME = 'YYYY-MM-DD_HH-mm-ss_SSSSSS'

/**
 * Fills `{time}` / `{time:FORMAT}` into a file-name template (`{{` and `}}` are literal braces,
 * as in Python's format strings).
 * @throws {Error} for any other `{…}` placeholder, which the original service could not fill either.
 */
export function fillTemplate(template: string, date: Date): string {
  return template.replace(PLACEHOLDER, (match, field: string | undefined) => {
    if (match === '{{') return '{'
    if (match === '}}') return '}'
    const [name, ...format] = field!.split(':')
    if (name !== 'time') throw new Error(`unknown placeholder {${field}} (only {time} and {time:FORMAT} are filled in)`)
    return formatTime(format.length ? format.join(':') : FILE_TIME, date)
  })
}

/** Why a file name template cannot be filled in (an unknown placeholder, a stray brace), or null. */
export function templateProblem(template: string): string | null {
  if (/[{}]/.test(template.replace(PLACEHOLDER, ''))) return 'a "{" or "}" that is not part of a placeholder (write {{ or }} for a brace)'
  try {
    fillTemplate(template, new Date(0))
    return null
  } catch (error) {
    return (error as Error).message
  }
}

/** A regular expression matching every name `template` fills in to (placeholders match anything). */
export function templatePattern(template: string): string {
  const escapeRegExp = (s: string) => s.replace(/[.*+?^$()|[\]\\{}]/g, '\\$&')
  return template
    .split(/(\{\{|\}\}|\{[^{}]*\})/)
    .map((part, i) => (i % 2 === 0 ? escapeRegExp(part) : part === '{{' ? '\\{' : part === '}}' ? '\\}' : '.+'))
    .join('')
}

/** Where loguru moves a rotated file: `<root>.<creation time><ext>`, numbered if taken. */
export function renamedPath(path: string, created: Date): string {
  const ext = extname(path)
  const root = path.slice(0, path.length - ext.length)
  const stamp = formatTime(FILE_TIME, created)
  let candidate = `${root}.${stamp}${ext}`
  for (let n = 2; existsSync(candidate); n++) candidate = `${root}.${stamp}.${n}${ext}`
  return candidate
}

/** The next moment a clock-based rotation is due after `from`. */
export function nextBoundary(rotation: Rotation, from: Date): number {
  const times: number[] = []
  if (rotation.everyMs !== undefined) times.push(from.getTime() + rotation.everyMs)
  if (rotation.at !== undefined) {
    const next = new Date(from)
    next.setMinutes(0, 0, 0)
    if (rotation.at === 'hour') next.setHours(next.getHours() + 1)
    else {
      next.setHours(0)
      next.setDate(next.getDate() + (rotation.at === 'day' ? 1 : (8 - next.getDay()) % 7 || 7))
    }
    times.push(next.getTime())
  }
  if (rotation.dailyAt !== undefined) {
    const next = new Date(from)
    next.setHours(Math.floor(rotation.dailyAt / 60), rotation.dailyAt % 60, 0, 0)
    if (next.getTime() <= from.getTime()) next.setDate(next.getDate() + 1)
    times.push(next.getTime())
  }
  return times.length ? Math.min(...times) : Number.POSITIVE_INFINITY
}
