// A small, obviously-correct model of the counting contract (design §1), built on JSON.parse.
// It is the oracle of the differential tests: the native core must agree with it exactly.
import { parseJson } from './json.js'

export type ModelOutcome =
  | { kind: 'blank' }
  | { kind: 'skipped' }
  | { kind: 'counted'; hour: number; element: Buffer }
  | { kind: 'invalid'; reason: string }

/** Marker for a byte that is not part of valid UTF-8: a lone surrogate, which no valid UTF-8 decodes to. */
const MARK = '\ud800'

/** Whether `bytes[i..]` starts with a well-formed UTF-8 sequence; returns its length or 0. */
function utf8SequenceLength(bytes: Uint8Array, i: number): number {
  const b = bytes[i]!
  const cont = (k: number, lo = 0x80, hi = 0xbf) => i + k < bytes.length && bytes[i + k]! >= lo && bytes[i + k]! <= hi
  if (b < 0x80) return 1
  if (b >= 0xc2 && b <= 0xdf) return cont(1) ? 2 : 0
  if (b === 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0
  if ((b >= 0xe1 && b <= 0xec) || b === 0xee || b === 0xef) return cont(1) && cont(2) ? 3 : 0
  if (b === 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0
  if (b === 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0
  if (b >= 0xf1 && b <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0
  if (b === 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0
  return 0
}

/** Decodes UTF-8, turning every byte that is not part of a valid sequence into MARK. */
export function decodeMarked(bytes: Uint8Array): { text: string; invalid: boolean } {
  let text = ''
  let invalid = false
  let i = 0
  while (i < bytes.length) {
    const n = utf8SequenceLength(bytes, i)
    if (n === 0) {
      text += MARK
      invalid = true
      i += 1
    } else {
      text += Buffer.from(bytes.subarray(i, i + n)).toString('utf8')
      i += n
    }
  }
  return { text, invalid }
}

/** How a stream is read: the counting rule's options, as the model takes them. */
export interface ModelRule {
  format: 'json' | 'clf'
  /** Dotted paths of the three fields. */
  names: ModelNames
  /** The original rule: numbers only as statuses, ISO strings (`Z`, `±HH:MM`) only as times. */
  strict: boolean
  timeUnit: 's' | 'ms' | 'us' | 'ns'
  timezone?: string
  sourceTimezone?: string
  envelope?: string
  framing: 'lines' | 'json-stream'
}

/** The field names a record is read from. */
export interface ModelNames {
  time: string
  ip: string
  status: string
}

export const DEFAULT_NAMES: ModelNames = { time: 'time', ip: 'ip', status: 'status_code' }

export const ORIGINAL_RULE: ModelRule = { format: 'json', names: DEFAULT_NAMES, strict: true, timeUnit: 's', framing: 'lines' }

/** A wall clock; `offset` in minutes when the time says it. */
interface Wall {
  year: number
  month: number
  day: number
  hour: number
  minute: number
  second: number
  offset?: number
}

/** What a time means: a wall clock, or an instant (epoch seconds, as a bigint, rounded down). */
type Reading = { wall: Wall } | { epoch: bigint }

const ISO = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(Z|([+-])(\d{2}):(\d{2})|([+-])(\d{2})(\d{2}))?$/
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']
const CLF_TIME = /^(\d{2})\/([A-Z][a-z]{2})\/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$/
const DECIMAL = /^(-?)(\d+)(?:\.(\d+))?$/
const UNIT_DIGITS = { s: 0, ms: 3, us: 6, ns: 9 } as const

/** Whether a wall clock names a real date and time (no leap second, offset hours up to 23). */
function validWall(w: Wall): boolean {
  if (w.hour > 23 || w.minute > 59 || w.second > 59) return false
  if (w.offset !== undefined && (Math.abs(w.offset) % 60 > 59 || Math.floor(Math.abs(w.offset) / 60) > 23)) return false
  const date = new Date(0)
  date.setUTCFullYear(w.year, w.month - 1, w.day)
  return date.getUTCFullYear() === w.year && date.getUTCMonth() === w.month - 1 && date.getUTCDate() === w.day
}

const signed = (sign: string, h: string, m: string) => (sign === '-' ? -1 : 1) * (Number(h) * 60 + Number(m))

/** Floor of `digits` (a decimal string) divided by 10^unitDigits, exactly. */
function decimalEpoch(text: string, unitDigits: number): bigint | null {
  const m = DECIMAL.exec(text)
  if (!m) return null
  const all = m[2]! + (m[3] ?? '')
  const point = m[2]!.length - unitDigits
  const whole = point <= 0 ? 0n : BigInt(all.slice(0, point))
  const rest = point <= 0 ? all : all.slice(point)
  const fractional = /[1-9]/.test(rest)
  return m[1] === '-' ? -whole - (fractional ? 1n : 0n) : whole
}

/** How a time string reads, or null when it is not a time. */
function readTimeText(time: string, rule: ModelRule): Reading | null {
  const iso = ISO.exec(time)
  if (iso && !(rule.strict && iso[11] !== undefined)) {
    const [year, month, day, hour, minute, second] = iso.slice(1, 7).map(Number) as number[]
    const offset =
      iso[7] === 'Z' ? 0 : iso[8] ? signed(iso[8], iso[9]!, iso[10]!) : iso[11] ? signed(iso[11], iso[12]!, iso[13]!) : undefined
    const wall = { year: year!, month: month!, day: day!, hour: hour!, minute: minute!, second: second!, offset }
    const [oh, om] = iso[9] ? [iso[9], iso[10]] : iso[12] ? [iso[12], iso[13]] : ['0', '0']
    if (Number(oh) > 23 || Number(om) > 59) return null
    return validWall(wall) ? { wall } : null
  }
  if (rule.strict) return null
  const clf = CLF_TIME.exec(time)
  if (clf) return clfReading(clf)
  const epoch = decimalEpoch(time, UNIT_DIGITS[rule.timeUnit])
  return epoch === null ? null : { epoch }
}

function clfReading(t: RegExpExecArray): Reading | null {
  const month = MONTHS.indexOf(t[2]!) + 1
  if (month === 0 || Number(t[8]) > 23 || Number(t[9]) > 59) return null
  const wall = {
    year: Number(t[3]),
    month,
    day: Number(t[1]),
    hour: Number(t[4]),
    minute: Number(t[5]),
    second: Number(t[6]),
    offset: signed(t[7]!, t[8]!, t[9]!),
  }
  return validWall(wall) ? { wall } : null
}

const formats = new Map<string, Intl.DateTimeFormat>()
/** The wall clock of an instant (ms) in a zone, by Intl (the ICU time-zone data of Node). */
function zoneWall(ms: number, zone: string): Wall {
  let f = formats.get(zone)
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    })
    formats.set(zone, f)
  }
  const part = Object.fromEntries(f.formatToParts(new Date(ms)).map((p) => [p.type, p.value]))
  return {
    year: Number(part.year),
    month: Number(part.month),
    day: Number(part.day),
    hour: Number(part.hour),
    minute: Number(part.minute),
    second: Number(part.second),
  }
}

const wallMs = (w: Wall) => {
  const d = new Date(0)
  d.setUTCFullYear(w.year, w.month - 1, w.day)
  d.setUTCHours(w.hour, w.minute, w.second, 0)
  return d.getTime()
}
const offsetMs = (ms: number, zone: string) => wallMs(zoneWall(ms, zone)) - ms

/** The instant (ms) of a zone's wall clock: the earlier of two, or after a gap by its length. */
function zoneInstant(w: Wall, zone: string): number {
  const local = wallMs(w)
  const before = offsetMs(local - 86_400_000, zone)
  const after = offsetMs(local + 86_400_000, zone)
  const fits = (t: number) => offsetMs(t, zone) === local - t
  const candidates = [local - before, local - after].filter(fits).sort((x, y) => x - y)
  return candidates[0] ?? local - before
}

/** The date, hour and weekday a reading counts under, or null (outside years 0000–9999). */
function countedHour(reading: Reading, rule: ModelRule): { date: string; hour: number; weekday: number } | null {
  let wall: Wall
  if ('epoch' in reading) {
    if (reading.epoch < -62_167_219_200n - 86_400n || reading.epoch > 253_402_300_800n + 86_400n) return null
    const ms = Number(reading.epoch) * 1000
    wall = rule.timezone
      ? zoneWall(ms, rule.timezone)
      : (({ year, month, day, hour }) => ({ year, month, day, hour, minute: 0, second: 0 }))(utcWall(ms))
  } else if (rule.timezone === undefined) {
    wall = reading.wall
  } else if (reading.wall.offset !== undefined) {
    wall = zoneWall(wallMs(reading.wall) - reading.wall.offset * 60_000, rule.timezone)
  } else if (rule.sourceTimezone !== undefined && rule.sourceTimezone.toLowerCase() !== rule.timezone.toLowerCase()) {
    wall = zoneWall(zoneInstant(reading.wall, rule.sourceTimezone), rule.timezone)
  } else {
    wall = reading.wall
  }
  if (wall.year < 0 || wall.year > 9999) return null
  const d = new Date(0)
  d.setUTCFullYear(wall.year, wall.month - 1, wall.day)
  const pad = (n: number, w = 2) => String(n).padStart(w, '0')
  return {
    date: `${pad(wall.year, 4)}-${pad(wall.month)}-${pad(wall.day)}`,
    hour: wall.hour,
    weekday: d.getUTCDay() === 0 ? 7 : d.getUTCDay(),
  }
}

function utcWall(ms: number): Wall {
  const d = new Date(ms)
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
  }
}

/** Date and hour of a valid timestamp under the original rule, or null. */
export function modelTime(time: string): { weekday: number; hour: number } | null {
  const reading = readTimeText(time, ORIGINAL_RULE)
  const when = reading && countedHour(reading, ORIGINAL_RULE)
  return when && { weekday: when.weekday, hour: when.hour }
}

/** Where a dotted path leads in a parsed record: the longest key first at each level. */
function lookup(value: unknown, path: string): { value: unknown } | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined
  const keys = Object.keys(value)
    .filter((k) => k === path || (path.length > k.length && path.startsWith(k) && path[k.length] === '.'))
    .sort((a, b) => b.length - a.length)
  for (const key of keys) {
    const v = (value as Record<string, unknown>)[key]
    if (key === path) return { value: v }
    const found = lookup(v, path.slice(key.length + 1))
    if (found) return found
  }
  return undefined
}

const invalid = (reason: string): ModelOutcome => ({ kind: 'invalid', reason })

function outcome(status: number, when: { date: string; hour: number; weekday: number }, ip: Buffer): ModelOutcome {
  if (status < 500 || status > 599 || when.weekday > 5) return { kind: 'skipped' }
  return {
    kind: 'counted',
    hour: when.hour,
    element: Buffer.concat([Buffer.from(`${when.date} ${String(when.hour).padStart(2, '0')}_`), ip]),
  }
}

// Read as latin1, one character per byte, so lengths are byte lengths as in the format.
const CLF = /^([^ ]+) [^ ]+ [^ ]+ \[([\s\S]{26})\] "(?:[^"\\]|\\[\s\S])*" (\d{3})(?: [\s\S]*)?$/

/** The outcome of a Common or Combined log line. */
function modelClfLine(line: Uint8Array, rule: ModelRule): ModelOutcome {
  const bytes = line.at(-1) === 0x0d ? line.subarray(0, -1) : line
  const m = CLF.exec(Buffer.from(bytes).toString('latin1'))
  if (!m) return invalid('clf')
  const [, client, bracket, status] = m as unknown as [string, string, string, string]
  const t = CLF_TIME.exec(bracket)
  const month = t ? MONTHS.indexOf(t[2]!) + 1 : 0
  if (!t || month === 0 || Number(t[8]) > 23 || Number(t[9]) > 59) return invalid('badTime')
  const clientBytes = Buffer.from(client, 'latin1')
  if (decodeMarked(clientBytes).invalid) return invalid('utf8')
  const reading = clfReading(t)
  const when = reading && countedHour(reading, rule)
  if (!when) return invalid('badTime')
  return outcome(Number(status), when, clientBytes)
}

/** A parsed JSON line, or why it is not an object. */
function parseObject(line: Uint8Array): { record: object } | { error: ModelOutcome } {
  const { text, invalid: notUtf8 } = decodeMarked(line)
  let value: unknown
  try {
    value = parseJson(text) // JSON.parse, without V8's key-cache bug (./json.ts)
  } catch {
    return { error: invalid(notUtf8 ? 'utf8' : 'json') }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { error: invalid('notObject') }
  return { record: value }
}

/** The outcome of a JSON record. */
function modelJsonRecord(line: Uint8Array, rule: ModelRule): ModelOutcome {
  const parsed = parseObject(line)
  if ('error' in parsed) return parsed.error
  const [time, ip, status] = [rule.names.time, rule.names.ip, rule.names.status].map((path) => lookup(parsed.record, path))
  if (!time || !ip || !status) return invalid('missingField')
  const statusValue =
    typeof status.value === 'number' && Number.isInteger(status.value)
      ? status.value
      : !rule.strict && typeof status.value === 'string' && /^\d+$/.test(status.value)
        ? Number(status.value)
        : undefined
  const timeIsNumber = !rule.strict && typeof time.value === 'number'
  if (typeof ip.value !== 'string' || statusValue === undefined || (typeof time.value !== 'string' && !timeIsNumber)) {
    return invalid('wrongType')
  }
  if ((typeof time.value === 'string' && !time.value.isWellFormed()) || !ip.value.isWellFormed()) return invalid('utf8')
  // A JSON number is read from its double: the generators keep epoch numbers exact in one.
  const reading =
    typeof time.value === 'number'
      ? { epoch: BigInt(Math.floor(time.value / 10 ** UNIT_DIGITS[rule.timeUnit])) }
      : readTimeText(time.value as string, rule)
  const when = reading && countedHour(reading, rule)
  if (!when) return invalid('badTime')
  return outcome(statusValue, when, Buffer.from(ip.value, 'utf8'))
}

/** The outcome of one line (bytes between two `\n`) or one framed record. */
export function modelLine(line: Uint8Array, maxLineBytes: number, rule: ModelRule = ORIGINAL_RULE): ModelOutcome {
  if (line.length > maxLineBytes) return invalid('tooLong')
  const blank = (bytes: Uint8Array) => bytes.every((b) => b === 0x20 || b === 0x09 || b === 0x0d)
  if (blank(line)) return { kind: 'blank' }
  let record = line
  if (rule.envelope !== undefined) {
    const parsed = parseObject(line)
    if ('error' in parsed) return parsed.error
    const field = lookup(parsed.record, rule.envelope)
    if (!field) return invalid('missingField')
    if (typeof field.value !== 'string') return invalid('wrongType')
    if (!field.value.isWellFormed()) return invalid('utf8')
    record = Buffer.from(field.value.endsWith('\n') ? field.value.slice(0, -1) : field.value, 'utf8')
    if (blank(record)) return { kind: 'blank' }
  }
  return rule.format === 'clf' ? modelClfLine(record, rule) : modelJsonRecord(record, rule)
}

/** The records of a stream: lines, or JSON values back to back. */
function records(stream: Uint8Array, framing: ModelRule['framing'], maxLineBytes: number): Uint8Array[] {
  const out: Uint8Array[] = []
  if (framing === 'lines') {
    let start = 0
    for (let i = 0; i < stream.length; i++) {
      if (stream[i] === 0x0a) {
        out.push(stream.subarray(start, i))
        start = i + 1
      }
    }
    if (start < stream.length) out.push(stream.subarray(start))
    return out
  }
  const space = (b: number) => b === 0x20 || b === 0x09 || b === 0x0d || b === 0x0a
  let i = 0
  while (i < stream.length) {
    if (space(stream[i]!)) {
      i++
      continue
    }
    const start = i
    if (stream[i] === 0x7b || stream[i] === 0x5b) {
      // Brackets outside strings, until they balance (or the stream ends).
      let depth = 0
      let inString = false
      for (; i < stream.length; i++) {
        const c = stream[i]!
        // A raw newline in a string is invalid JSON, and one after more than the limit ends a
        // record too long anyway: the record ends before it.
        if (c === 0x0a && (inString || i - start > maxLineBytes)) break
        if (inString) {
          // A backslash escapes the next byte, but not a newline: no JSON string holds one.
          if (c === 0x5c && stream[i + 1] !== 0x0a) i++
          else if (c === 0x22) inString = false
        } else if (c === 0x22) inString = true
        else if (c === 0x7b || c === 0x5b) depth++
        else if (c === 0x7d || c === 0x5d) {
          depth--
          if (depth === 0) {
            i++
            break
          }
        }
      }
      out.push(stream.subarray(start, Math.min(i, stream.length)))
    } else {
      while (i < stream.length && !space(stream[i]!) && stream[i] !== 0x7b && stream[i] !== 0x5b) i++
      out.push(stream.subarray(start, i))
    }
  }
  return out
}

export interface ModelResult {
  lines: { total: number; counted: number; skipped: number; invalid: number; blank: number }
  invalid: Record<string, number>
  /** Counted elements, in stream order. */
  counted: { hour: number; element: Buffer }[]
}

/** The outcome of a whole stream (an unterminated final record counts). */
export function modelStream(
  stream: Uint8Array,
  maxLineBytes: number,
  reasons: readonly string[],
  rule: Partial<ModelRule> = {},
): ModelResult {
  const full: ModelRule = { ...ORIGINAL_RULE, ...rule }
  const result: ModelResult = {
    lines: { total: 0, counted: 0, skipped: 0, invalid: 0, blank: 0 },
    invalid: Object.fromEntries(reasons.map((r) => [r, 0])),
    counted: [],
  }
  for (const line of records(stream, full.framing, maxLineBytes)) {
    const outcome = modelLine(line, maxLineBytes, full)
    if (outcome.kind === 'blank') {
      result.lines.blank++
      continue
    }
    result.lines.total++
    if (outcome.kind === 'skipped') result.lines.skipped++
    if (outcome.kind === 'counted') {
      result.lines.counted++
      result.counted.push({ hour: outcome.hour, element: outcome.element })
    }
    if (outcome.kind === 'invalid') {
      result.lines.invalid++
      result.invalid[outcome.reason]!++
    }
  }
  return result
}
