// The server's log file, kept the way the original service's loguru sink kept it, so its
// `.env` (LOG_FILENAME=logs/consumer_{time:YYYY-MM-DD}.log, LOG_FILE_ROTATION=500 MB) logs to
// the same place: the path with `{time:FORMAT}` filled in when the file is opened, rotation by
// size or time, the rotated file renamed `<name>.<YYYY-MM-DD_HH-mm-ss_SSSSSS><ext>`.
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, renameSync, statSync, unlinkSync } from 'node:fs'
import { basename, dirname, extname, join } from 'node:path'
import { pino } from 'pino'

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
function templatePattern(template: string): string {
  const escapeRegExp = (s: string) => s.replace(/[.*+?^$()|[\]\\{}]/g, '\\$&')
  return template
    .split(/(\{\{|\}\}|\{[^{}]*\})/)
    .map((part, i) => (i % 2 === 0 ? escapeRegExp(part) : part === '{{' ? '\\{' : part === '}}' ? '\\}' : '.+'))
    .join('')
}

/** Where loguru moves a rotated file: `<root>.<creation time><ext>`, numbered if taken. */
function renamedPath(path: string, created: Date): string {
  const ext = extname(path)
  const root = path.slice(0, path.length - ext.length)
  const stamp = formatTime(FILE_TIME, created)
  let candidate = `${root}.${stamp}${ext}`
  for (let n = 2; existsSync(candidate); n++) candidate = `${root}.${stamp}.${n}${ext}`
  return candidate
}

/** The next moment a clock-based rotation is due after `from`. */
function nextBoundary(rotation: Rotation, from: Date): number {
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

export interface LogFileOptions {
  /** File name template (`logs/consumer_{time:YYYY-MM-DD}.log`). */
  template: string
  rotation: Rotation
  /** Rotated files kept (the newest); 0 keeps all. */
  retention: number
  /** Called once when writing fails (disk full, file removed, …); logging goes on if it can. */
  onError(error: Error): void
}

/**
 * A pino destination writing to the log file, rotating it as loguru did. Writes go through
 * pino's asynchronous file writer, so a slow disk never blocks ingestion.
 */
export class LogFile {
  #path: string
  #created: Date
  #bytes: number
  #due: number
  readonly #options: LogFileOptions
  readonly #writer: ReturnType<typeof pino.destination>
  /** A rotation's new file is being opened: a flush waits for it. */
  #reopening = true
  #failed = false

  /** Opens (creates, with its directory) the file now: an unusable path is an error at once. */
  constructor(options: LogFileOptions) {
    this.#options = options
    const now = new Date()
    this.#path = fillTemplate(options.template, now)
    this.#bytes = probe(this.#path)
    this.#created = now
    this.#due = nextBoundary(options.rotation, now)
    this.#writer = pino.destination({ dest: this.#path, mkdir: true, sync: false })
    this.#writer.on('error', (error: Error) => this.#fail(error))
    this.#writer.on('ready', () => (this.#reopening = false))
  }

  /** The file being written now. */
  get path(): string {
    return this.#path
  }

  write(line: string): void {
    const { bytes } = this.#options.rotation
    this.#writer.write(line)
    this.#bytes += Buffer.byteLength(line)
    if ((bytes !== undefined && this.#bytes >= bytes) || Date.now() >= this.#due) this.#rotate()
  }

  /** Writes everything buffered (after a rotation, once the new file is open), then calls back. */
  flush(callback: (error?: Error) => void = () => {}): void {
    const flush = () => this.#writer.flush((error) => callback(error ?? undefined))
    if (this.#reopening) this.#writer.once('ready', flush)
    else flush()
  }

  #rotate(): void {
    const now = new Date()
    try {
      const next = fillTemplate(this.#options.template, now)
      // The same name again (a size rotation, or no date in it): the full file moves aside first.
      if (next === this.#path) renameSync(this.#path, renamedPath(this.#path, this.#created))
      // The new file exists at once, whatever becomes of the process before the writer reopens.
      probe(next)
      this.#reopening = true
      this.#writer.reopen(next)
      this.#path = next
      this.#prune()
    } catch (error) {
      this.#fail(error as Error)
    }
    this.#bytes = 0
    this.#created = now
    this.#due = nextBoundary(this.#options.rotation, now)
  }

  /** Deletes the oldest log files of this template beyond the retention count. */
  #prune(): void {
    if (this.#options.retention <= 0) return
    const dir = dirname(this.#path)
    const name = basename(this.#options.template)
    const ext = extname(name)
    const stem = templatePattern(name.slice(0, name.length - ext.length))
    const stamp = '\\.\\d{4}-\\d{2}-\\d{2}_\\d{2}-\\d{2}-\\d{2}_\\d{6}(\\.\\d+)?'
    const pattern = new RegExp(`^${stem}(${stamp})?${templatePattern(ext)}$`)
    const old = readdirSync(dir)
      .filter((f) => pattern.test(f) && join(dir, f) !== this.#path)
      .map((f) => ({ file: join(dir, f), mtime: statSync(join(dir, f)).mtimeMs }))
      .sort((a, b) => b.mtime - a.mtime)
    for (const { file } of old.slice(this.#options.retention)) unlinkSync(file)
  }

  #fail(error: Error): void {
    if (this.#failed) return
    this.#failed = true
    this.#options.onError(error)
  }
}

/** Creates the file (and its directory) if needed and returns its size: fails now if it cannot be written. */
function probe(path: string): number {
  mkdirSync(dirname(path), { recursive: true })
  closeSync(openSync(path, 'a'))
  return statSync(path).size
}
