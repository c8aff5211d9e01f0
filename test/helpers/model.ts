// A small, obviously-correct model of the counting contract (design §1), built on JSON.parse.
// It is the oracle of the differential tests: the native core must agree with it exactly.

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

const TIME = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-](\d{2}):(\d{2}))?$/

/** Date and hour of a valid timestamp, or null. */
export function modelTime(time: string): { weekday: number; hour: number } | null {
  const m = TIME.exec(time)
  if (!m) return null
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as number[]
  if (hour! > 23 || minute! > 59 || second! > 59) return null
  if (m[9] !== undefined && (Number(m[9]) > 23 || Number(m[10]) > 59)) return null
  const date = new Date(0)
  date.setUTCFullYear(year!, month! - 1, day!)
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month! - 1 || date.getUTCDate() !== day) return null
  const weekday = date.getUTCDay() === 0 ? 7 : date.getUTCDay()
  return { weekday, hour: hour! }
}

/** The field names a record is read from. */
export interface ModelNames {
  time: string
  ip: string
  status: string
}

export const DEFAULT_NAMES: ModelNames = { time: 'time', ip: 'ip', status: 'status_code' }

/** How records are written. */
export type ModelFormat = 'json' | 'clf'

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']
// Read as latin1, one character per byte, so lengths are byte lengths as in the format.
const CLF = /^([^ ]+) [^ ]+ [^ ]+ \[([\s\S]{26})\] "(?:[^"\\]|\\[\s\S])*" (\d{3})(?: [\s\S]*)?$/
const CLF_TIME = /^(\d{2})\/([A-Z][a-z]{2})\/(\d{4}):(\d{2}):(\d{2}):(\d{2}) [+-](\d{2})(\d{2})$/

/** The outcome of a Common or Combined log line. */
function modelClfLine(line: Uint8Array): ModelOutcome {
  const bytes = line.at(-1) === 0x0d ? line.subarray(0, -1) : line
  const m = CLF.exec(Buffer.from(bytes).toString('latin1'))
  if (!m) return { kind: 'invalid', reason: 'clf' }
  const [, client, bracket, status] = m as unknown as [string, string, string, string]
  const t = CLF_TIME.exec(bracket)
  const month = t ? MONTHS.indexOf(t[2]!) + 1 : 0
  if (!t || month === 0 || Number(t[7]) > 23 || Number(t[8]) > 59) return { kind: 'invalid', reason: 'badTime' }
  const clientBytes = Buffer.from(client, 'latin1')
  if (decodeMarked(clientBytes).invalid) return { kind: 'invalid', reason: 'utf8' }
  const iso = `${t[3]}-${String(month).padStart(2, '0')}-${t[1]} ${t[4]}:${t[5]}:${t[6]}`
  const when = modelTime(iso)
  if (!when) return { kind: 'invalid', reason: 'badTime' }
  if (Number(status) < 500 || Number(status) > 599 || when.weekday > 5) return { kind: 'skipped' }
  return { kind: 'counted', hour: when.hour, element: Buffer.concat([Buffer.from(`${iso.slice(0, 13)}_`), clientBytes]) }
}

/** The outcome of one line (bytes between two `\n`). */
export function modelLine(
  line: Uint8Array,
  maxLineBytes: number,
  names: ModelNames = DEFAULT_NAMES,
  format: ModelFormat = 'json',
): ModelOutcome {
  if (line.length > maxLineBytes) return { kind: 'invalid', reason: 'tooLong' }
  if (line.every((b) => b === 0x20 || b === 0x09 || b === 0x0d)) return { kind: 'blank' }
  if (format === 'clf') return modelClfLine(line)
  const { text, invalid } = decodeMarked(line)
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return { kind: 'invalid', reason: invalid ? 'utf8' : 'json' }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { kind: 'invalid', reason: 'notObject' }
  const record = value as Record<string, unknown>
  if (!Object.hasOwn(record, names.time) || !Object.hasOwn(record, names.ip) || !Object.hasOwn(record, names.status)) {
    return { kind: 'invalid', reason: 'missingField' }
  }
  const [time, ip, status] = [record[names.time], record[names.ip], record[names.status]]
  if (typeof time !== 'string' || typeof ip !== 'string' || typeof status !== 'number' || !Number.isInteger(status)) {
    return { kind: 'invalid', reason: 'wrongType' }
  }
  if (!time.isWellFormed() || !ip.isWellFormed()) return { kind: 'invalid', reason: 'utf8' }
  const t = modelTime(time)
  if (!t) return { kind: 'invalid', reason: 'badTime' }
  if (status < 500 || status > 599 || t.weekday > 5) return { kind: 'skipped' }
  return { kind: 'counted', hour: t.hour, element: Buffer.from(`${time.slice(0, 10)} ${time.slice(11, 13)}_${ip}`, 'utf8') }
}

export interface ModelResult {
  lines: { total: number; counted: number; skipped: number; invalid: number; blank: number }
  invalid: Record<string, number>
  /** Counted elements, in stream order. */
  counted: { hour: number; element: Buffer }[]
}

/** The outcome of a whole stream (an unterminated final line counts). */
export function modelStream(
  stream: Uint8Array,
  maxLineBytes: number,
  reasons: readonly string[],
  names: ModelNames = DEFAULT_NAMES,
  format: ModelFormat = 'json',
): ModelResult {
  const result: ModelResult = {
    lines: { total: 0, counted: 0, skipped: 0, invalid: 0, blank: 0 },
    invalid: Object.fromEntries(reasons.map((r) => [r, 0])),
    counted: [],
  }
  const lines: Uint8Array[] = []
  let start = 0
  for (let i = 0; i < stream.length; i++) {
    if (stream[i] === 0x0a) {
      lines.push(stream.subarray(start, i))
      start = i + 1
    }
  }
  if (start < stream.length) lines.push(stream.subarray(start))
  for (const line of lines) {
    const outcome = modelLine(line, maxLineBytes, names, format)
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
