// Generators for the ways logs are really written: every schema, dotted paths nested or
// flattened, every time form around the 2026 DST changes, string statuses, envelopes, framing.
import fc from 'fast-check'
import { anyClfLine, anyLine } from './arbitraries.js'
import type { ModelNames, ModelRule } from './model.js'

/** The schemas' field paths and units, written out again here (the model shares no code with src/). */
export const SCHEMA_FIELDS: Record<string, { names: ModelNames; timeUnit: ModelRule['timeUnit'] }> = {
  original: { names: { time: 'time', ip: 'ip', status: 'status_code' }, timeUnit: 's' },
  ecs: { names: { time: '@timestamp', ip: 'source.ip', status: 'http.response.status_code' }, timeUnit: 's' },
  caddy: { names: { time: 'ts', ip: 'request.remote_ip', status: 'status' }, timeUnit: 's' },
  'pino-http': { names: { time: 'time', ip: 'req.remoteAddress', status: 'res.statusCode' }, timeUnit: 'ms' },
  traefik: { names: { time: 'time', ip: 'ClientHost', status: 'DownstreamStatus' }, timeUnit: 's' },
  gcp: { names: { time: 'timestamp', ip: 'httpRequest.remoteIp', status: 'httpRequest.status' }, timeUnit: 's' },
}

/** Library options of a reading, and the model's rule for them. */
export interface Reading {
  options: Record<string, unknown>
  rule: ModelRule
}

// Cairo changes on a Friday and a Thursday: its gap and fold fall on working days.
const ZONES = ['Europe/Berlin', 'America/New_York', 'Asia/Kathmandu', 'Australia/Lord_Howe', 'Africa/Cairo', 'UTC']

/** `arbitrary` one time in `n`, null otherwise. */
const oneIn = <T>(n: number, arbitrary: fc.Arbitrary<T>): fc.Arbitrary<T | null> =>
  fc.oneof({ weight: n - 1, arbitrary: fc.constant(null) }, { weight: 1, arbitrary })

export const anyReading: fc.Arbitrary<Reading> = fc
  .record({
    schema: fc.constantFrom(...Object.keys(SCHEMA_FIELDS)),
    override: oneIn(4, fc.constantFrom<Partial<ModelNames>>({ time: 'when' }, { ip: 'client.address' }, { status: 'a.b.c' })),
    timeUnit: oneIn(3, fc.constantFrom<ModelRule['timeUnit']>('s', 'ms', 'us', 'ns')),
    timezone: oneIn(2, fc.constantFrom(...ZONES)),
    sourceTimezone: oneIn(3, fc.constantFrom(...ZONES)),
    envelope: oneIn(4, fc.constantFrom('message', 'log.original')),
    clf: fc.boolean(),
    framing: fc.constantFrom<ModelRule['framing']>('lines', 'lines', 'json-stream'),
  })
  .map(({ schema, override, timeUnit, timezone, sourceTimezone, envelope, clf, framing }) => {
    const preset = SCHEMA_FIELDS[schema]!
    const names = { ...preset.names, ...(override ?? {}) }
    const zone = timezone ?? undefined
    const source = zone === undefined ? undefined : (sourceTimezone ?? undefined)
    const format = envelope !== null && clf ? 'clf' : 'json'
    const rule: ModelRule = {
      format,
      names,
      strict: schema === 'original' && override === null && timeUnit === null,
      timeUnit: timeUnit ?? preset.timeUnit,
      timezone: zone,
      sourceTimezone: source,
      envelope: envelope ?? undefined,
      framing,
    }
    const options: Record<string, unknown> = { schema, format, framing }
    if (override) options.fields = override
    if (timeUnit) options.timeUnit = timeUnit
    if (zone) options.timezone = zone
    if (source) options.sourceTimezone = source
    if (envelope) options.envelope = envelope
    return { options, rule }
  })

/** Instants around the 2026 changes (EU 29 Mar and 25 Oct, US 8 Mar and 1 Nov) and elsewhere. */
const instant = fc.oneof(
  fc
    .tuple(
      fc.constantFrom(Date.UTC(2026, 2, 29, 1), Date.UTC(2026, 9, 25, 1), Date.UTC(2026, 2, 8, 7), Date.UTC(2026, 10, 1, 6)),
      fc.integer({ min: -30 * 3600, max: 30 * 3600 }),
    )
    .map(([t, s]) => t + s * 1000),
  fc.integer({ min: Date.UTC(2025, 0, 1), max: Date.UTC(2027, 11, 31) }).map((t) => t - (t % 1000)),
)

const pad = (n: number, w = 2) => String(n).padStart(w, '0')
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']
const UNIT = { s: 1, ms: 1e3, us: 1e6, ns: 1e9 } as const

/** A time written one of the ways producers write it, as a JSON value's text. */
function timeValue(ms: number, form: number, offsetMinutes: number, unit: ModelRule['timeUnit'], frac: number): string {
  const shifted = new Date(ms + offsetMinutes * 60_000)
  const date = `${shifted.getUTCFullYear()}-${pad(shifted.getUTCMonth() + 1)}-${pad(shifted.getUTCDate())}`
  const clock = `${pad(shifted.getUTCHours())}:${pad(shifted.getUTCMinutes())}:${pad(shifted.getUTCSeconds())}`
  const sign = offsetMinutes < 0 ? '-' : '+'
  const [oh, om] = [pad(Math.floor(Math.abs(offsetMinutes) / 60)), pad(Math.abs(offsetMinutes) % 60)]
  const seconds = Math.floor(ms / 1000)
  // Sub-unit parts stay away from whole seconds, so a double of the number floors like its digits.
  const sub = String(Math.floor((0.001 + 0.998 * frac) * UNIT[unit])).padStart(String(UNIT[unit]).length - 1, '0')
  switch (form) {
    case 0:
      return JSON.stringify(`${date} ${clock}`)
    case 1:
      return JSON.stringify(`${date}T${clock}.${String(Math.floor(frac * 1000)).padStart(3, '0')}Z`)
    case 2:
      return JSON.stringify(`${date}T${clock}${sign}${oh}:${om}`)
    case 3:
      return JSON.stringify(`${date}T${clock}${sign}${oh}${om}`)
    case 4:
      return JSON.stringify(
        `${pad(shifted.getUTCDate())}/${MONTHS[shifted.getUTCMonth()]}/${shifted.getUTCFullYear()}:${clock} ${sign}${oh}${om}`,
      )
    case 5:
      return unit === 's' ? `${seconds}.${String(Math.floor(frac * 1e6) + 1000).slice(-6)}` : `${seconds}${sub}`
    case 6: {
      // A whole second exactly, in the unit (nanoseconds as a string: a double cannot hold them).
      const zeros = '0'.repeat(String(UNIT[unit]).length - 1)
      return unit === 'ns' ? `"${seconds}${zeros}"` : `${seconds}${zeros}`
    }
    case 7:
      return JSON.stringify(`${seconds}${unit === 's' ? '.5' : sub}`)
    case 14:
    case 15:
      // Wall clocks in the gaps and folds of 2026 (Cairo, Berlin, New York), without an offset.
      return JSON.stringify(
        [
          '2026-04-24 00:30:00',
          '2026-10-29 23:30:00',
          '2026-03-29 02:30:00',
          '2026-10-25 02:30:00',
          '2026-03-08 02:30:00',
          '2026-11-01 01:30:00',
        ][Math.floor(frac * 6)],
      )
    default:
      return JSON.stringify(['2026-02-30 10:00:00', '2026-11-23 24:00:00', '', 'yesterday', '1e9', '23/nov/2026:09:15:00 +0000'][form - 8])
  }
}

const timeText = fc
  .record({
    ms: instant,
    form: fc.integer({ min: 0, max: 15 }),
    offset: fc.constantFrom(0, 60, 120, -300, -240, 330, 345, -600, 630),
    frac: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
  })
  .map((t) => (unit: ModelRule['timeUnit']) => timeValue(t.ms, t.form, t.offset, unit, t.frac))

const statusText = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('500', '502', '503', '599', '200', '404', '499', '600', '5.03e2') },
  { weight: 3, arbitrary: fc.constantFrom('"502"', '"503"', '"200"', '"0500"', '"\\u0035\\u00303"') },
  { weight: 1, arbitrary: fc.constantFrom('"5xx"', '""', '" 502"', 'true', 'null', '{}', '502.5', '"502.0"') },
)

const ipText = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom('10.0.0.1', '10.0.0.2', '::1', '127.0.0.4', 'fe80::1%eth0').map((s) => JSON.stringify(s)) },
  { weight: 1, arbitrary: fc.constantFrom('7', 'null', '"\\ud800"', '["10.0.0.1"]') },
)

/** One way to write a dotted path as nested keys: `a.b.c` as `a` › `b.c`, `a.b` › `c`, … */
const anySplit = fc.array(fc.boolean(), { minLength: 8, maxLength: 8 })
function splitPath(path: string, cuts: boolean[]): string[] {
  const segments = path.split('.')
  const keys = [segments[0]!]
  segments.slice(1).forEach((s, i) => {
    if (cuts[i]) keys.push(s)
    else keys[keys.length - 1] += `.${s}`
  })
  return keys
}

/** A tree of members, written as JSON text in insertion order (values are already JSON text). */
type Tree = Map<string, Tree | string>
function insert(tree: Tree, keys: string[], value: string): void {
  const [first, ...rest] = keys as [string, ...string[]]
  if (rest.length === 0) {
    tree.set(first, value)
    return
  }
  let child = tree.get(first)
  if (!(child instanceof Map)) {
    child = new Map()
    tree.set(first, child)
  }
  insert(child, rest, value)
}
function write(tree: Tree): string {
  return `{${[...tree].map(([k, v]) => `${JSON.stringify(k)}:${typeof v === 'string' ? v : write(v)}`).join(',')}}`
}

/** A JSON record for `rule`, its fields nested or flattened at random, with decoys and noise. */
export const jsonRecord = (rule: ModelRule) =>
  fc
    .record({
      time: timeText,
      status: statusText,
      ip: ipText,
      splits: fc.tuple(anySplit, anySplit, anySplit),
      order: fc.constantFrom<number[]>([0, 1, 2], [2, 0, 1], [1, 2, 0]),
      drop: oneIn(12, fc.integer({ min: 0, max: 2 })),
      decoy: oneIn(5, fc.tuple(fc.integer({ min: 0, max: 2 }), anySplit)),
      noise: fc.constantFrom('', '"ua":"curl"', '"msg":"x","n":[1,{"a":2}]', '"http":{"version":"1.1"}', '"source":5'),
    })
    .map(({ time, status, ip, splits, order, drop, decoy, noise }) => {
      const paths = [rule.names.time, rule.names.ip, rule.names.status]
      const values = [time(rule.timeUnit), ip, status]
      const tree: Tree = new Map()
      if (noise) insert(tree, ['noise'], `{${noise}}`)
      for (const k of order) if (k !== drop) insert(tree, splitPath(paths[k]!, splits[k]!), values[k]!)
      if (decoy) insert(tree, splitPath(paths[decoy[0]]!, decoy[1]), '"decoy"')
      return write(tree)
    })

/** A record (JSON, or a Combined line in an envelope), or something broken. */
export const anyRecord = (rule: ModelRule): fc.Arbitrary<Buffer> => {
  const inner: fc.Arbitrary<Buffer> =
    rule.format === 'clf'
      ? anyClfLine
      : fc.oneof({ weight: 8, arbitrary: jsonRecord(rule).map((s) => Buffer.from(s)) }, { weight: 1, arbitrary: anyLine })
  if (rule.envelope === undefined) return inner
  const path = rule.envelope.split('.')
  return fc
    .record({ record: inner, newline: fc.boolean(), broken: oneIn(8, fc.constantFrom('5', 'null', '"\\ud800"')) })
    .map(({ record, newline, broken }) => {
      const text = record.toString('utf8') + (newline ? '\n' : '')
      const tree: Tree = new Map([['timestamp', '"2026-11-23T14:15:01Z"']])
      insert(tree, path, broken ?? JSON.stringify(text))
      return Buffer.from(write(tree))
    })
}

/** A stream of records for `rule`: lines, or JSON values back to back with or without whitespace. */
export const anyReadingStream = (rule: ModelRule): fc.Arbitrary<Buffer> =>
  fc
    .record({
      records: fc.array(anyRecord(rule), { maxLength: 40 }),
      gaps: fc.array(fc.constantFrom('\n', '\r\n', '', ' ', '\n\n', '\t\r\n'), { minLength: 1, maxLength: 6 }),
      final: fc.boolean(),
    })
    .map(({ records, gaps, final }) => {
      const parts: Buffer[] = []
      records.forEach((r, i) => {
        parts.push(r)
        const gap = rule.framing === 'lines' ? (gaps[i % gaps.length]!.includes('\r') ? '\r\n' : '\n') : gaps[i % gaps.length]!
        if (i < records.length - 1 || final) parts.push(Buffer.from(gap))
      })
      return Buffer.concat(parts)
    })
