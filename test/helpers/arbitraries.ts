// fast-check generators of access-log streams: valid records in every legal spelling, and every
// kind of breakage the contract names.
import fc from 'fast-check'

const FIELD_NAMES = ['time', 'ip', 'status_code'] as const

/** A JSON string literal for `s`, escaping some characters at random (`\uXXXX`, short escapes). */
export function jsonString(s: string, escapes: number[]): string {
  let out = '"'
  let k = 0
  for (const ch of s) {
    const code = ch.codePointAt(0)!
    const pick = escapes.length ? escapes[k++ % escapes.length]! : 0
    if (ch === '"' || ch === '\\') out += `\\${ch}`
    else if (code < 0x20) out += `\\u${code.toString(16).padStart(4, '0')}`
    else if (pick % 5 === 1 && code <= 0xffff)
      out += `\\u${code
        .toString(16)
        .padStart(4, pick % 2 ? '0' : '0')
        .toUpperCase()}`
    else if (pick % 5 === 2 && ch === '/') out += '\\/'
    else if (pick % 7 === 3 && code > 0xffff) {
      const hi = 0xd800 + ((code - 0x10000) >> 10)
      const lo = 0xdc00 + ((code - 0x10000) & 0x3ff)
      out += `\\u${hi.toString(16)}\\u${lo.toString(16)}`
    } else out += ch
  }
  return `${out}"`
}

const escapes = fc.array(fc.nat(20), { maxLength: 6 })
const ws = fc.stringMatching(/^[ \t\r]{0,3}$/)

const validTimestamp = fc
  .record({
    // Milliseconds in 2018..2021, so weekdays and weekends both occur.
    ms: fc.integer({ min: Date.UTC(2018, 0, 1), max: Date.UTC(2021, 11, 31) }),
    sep: fc.constantFrom(' ', ' ', 'T'),
    frac: fc.constantFrom('', '', '', '.5', '.123456789'),
    zone: fc.constantFrom('', '', '', 'Z', '+02:00', '-23:59'),
  })
  .map(({ ms, sep, frac, zone }) => {
    const iso = new Date(ms).toISOString()
    return `${iso.slice(0, 10)}${sep}${iso.slice(11, 19)}${frac}${zone}`
  })

const anyTimestamp = fc
  .record({
    year: fc.oneof(fc.integer({ min: 2018, max: 2021 }), fc.integer({ min: 0, max: 9999 })),
    month: fc.oneof(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 0, max: 13 })),
    day: fc.oneof(fc.integer({ min: 1, max: 28 }), fc.integer({ min: 0, max: 32 })),
    hour: fc.oneof(fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 25 })),
    minute: fc.integer({ min: 0, max: 61 }),
    second: fc.integer({ min: 0, max: 61 }),
    sep: fc.constantFrom(' ', ' ', 'T', 't', '_'),
    frac: fc.constantFrom('', '', '.5', '.123456', '.', '.1a'),
    zone: fc.constantFrom('', '', 'Z', '+02:00', '-23:59', '+24:00', '+0200', 'z', '+02:60'),
  })
  .map((t) => {
    const p = (n: number, w = 2) => String(n).padStart(w, '0')
    return `${p(t.year, 4)}-${p(t.month)}-${p(t.day)}${t.sep}${p(t.hour)}:${p(t.minute)}:${p(t.second)}${t.frac}${t.zone}`
  })

const timestamp = fc.oneof({ weight: 6, arbitrary: validTimestamp }, { weight: 1, arbitrary: anyTimestamp })

const timeText = fc.oneof(
  { weight: 8, arbitrary: fc.tuple(timestamp, escapes).map(([t, e]) => jsonString(t, e)) },
  { weight: 1, arbitrary: fc.string({ maxLength: 25 }).map((s) => JSON.stringify(s)) },
)

const ipString = fc.oneof(
  fc.tuple(fc.nat(255), fc.nat(255), fc.nat(3)).map(([a, b, c]) => `10.${c}.${a}.${b}`),
  fc.constantFrom('::1', 'fe80::1%eth0', '', ' 10.0.0.1', 'é.ü', '😀', 'a"b\\c', 'x\u0000y', '\u2028'),
  fc.string({ maxLength: 12, unit: 'binary' }),
)
const ipText = fc.tuple(ipString, escapes).map(([s, e]) => jsonString(s, e))

const statusText = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 498, max: 601 }).map(String) },
  {
    weight: 1,
    arbitrary: fc.constantFrom('500.0', '5e2', '5.02E+2', '-0', '0', '1e400', '500.5', '-500', '5.999e2', '599.0000000000000001'),
  },
)

/** Any JSON value text, for ignored fields and for wrong-typed fields. */
const otherValue = fc.oneof(
  fc.json({ maxDepth: 2 }),
  fc.constantFrom('true', 'false', 'null', '[]', '{}', '"500"', '500', '{"ip":"1.1.1.1","time":"2019-05-06 10:00:00"}'),
)

type Field = [key: string, value: string]

/** A record line: the three fields (maybe missing, maybe wrong-typed, maybe duplicated) plus noise. */
const recordLine = fc
  .record({
    time: fc.oneof({ weight: 12, arbitrary: timeText }, { weight: 1, arbitrary: otherValue }),
    ip: fc.oneof({ weight: 12, arbitrary: ipText }, { weight: 1, arbitrary: otherValue }),
    status: fc.oneof({ weight: 12, arbitrary: statusText }, { weight: 1, arbitrary: otherValue }),
    missing: fc.oneof({ weight: 15, arbitrary: fc.constant(-1) }, { weight: 1, arbitrary: fc.nat(2) }),
    keyEscapes: fc.array(escapes, { minLength: 3, maxLength: 3 }),
    extra: fc.array(fc.tuple(fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom(...FIELD_NAMES)), otherValue), { maxLength: 3 }),
    nested: fc.boolean(),
    order: fc.array(fc.nat(), { minLength: 8, maxLength: 8 }),
    spaces: fc.array(ws, { minLength: 40, maxLength: 40 }),
  })
  .map((r) => {
    const main: Field[] = [
      [jsonString('time', r.keyEscapes[0]!), r.time],
      [jsonString('ip', r.keyEscapes[1]!), r.ip],
      [jsonString('status_code', r.keyEscapes[2]!), r.status],
    ]
    if (r.missing >= 0) main.splice(r.missing, 1)
    const extra: Field[] = r.extra.map(([k, v]) => [JSON.stringify(k), v])
    if (r.nested) extra.push(['"nested"', `{"ip":"9.9.9.9","status_code":503,"time":"2019-05-06 12:00:00","a":[{"ip":1}]}`])
    // Noise goes anywhere; the real fields keep their relative order among duplicates' decoys.
    const fields = [...extra, ...main]
      .map((f, i) => ({ f, k: r.order[i % 8]! + i }))
      .sort((a, b) => a.k - b.k)
      .map((x) => x.f)
    let s = 0
    const sp = () => r.spaces[s++ % r.spaces.length]!
    return `${sp()}{${sp()}${fields.map(([k, v]) => `${k}${sp()}:${sp()}${v}${sp()}`).join(`,${sp()}`)}}${sp()}`
  })

/**
 * The original service's compact layout, `{"time":"…","ip":"…","status_code":N}` with no spaces,
 * in any key order, with values that sit on both sides of the native fast path's limits.
 */
const compactLine = fc
  .record({
    time: fc.oneof(
      { weight: 6, arbitrary: validTimestamp.map((t) => t.slice(0, 19)) },
      { weight: 2, arbitrary: validTimestamp },
      { weight: 2, arbitrary: anyTimestamp },
      { weight: 1, arbitrary: fc.constantFrom('2019-05-06 17:24:5"', '2019-05-06 17:24:5\\', '2019-05-06 17:2\u00344:53', '') },
    ),
    ip: fc.oneof(
      { weight: 6, arbitrary: fc.tuple(fc.nat(255), fc.nat(255)).map(([a, b]) => `10.0.${a}.${b}`) },
      { weight: 1, arbitrary: fc.constantFrom('', '1', '1.2.3.4.5.6.7.8.9.10.11.12', 'é', 'a\\"b', 'a\\u0041', 'x\u0001y', '€€€€€€€€') },
    ),
    status: fc.oneof(
      { weight: 6, arbitrary: fc.integer({ min: 200, max: 599 }).map(String) },
      {
        weight: 1,
        arbitrary: fc.constantFrom('0', '00', '0500', '5', '500000000', '5000000000', '-500', '500.0', '5e2', '"500"', 'true', ''),
      },
    ),
    order: fc.constantFrom([0, 1, 2], [0, 1, 2], [0, 1, 2], [1, 0, 2], [2, 1, 0], [1, 2, 0]),
    tail: fc.constantFrom('', '', '', '\r', ' ', ',"x":1', '}'),
  })
  .map(({ time, ip, status, order, tail }) => {
    const members = [`"time":"${time}"`, `"ip":"${ip}"`, `"status_code":${status}`]
    const body = order.map((k) => members[k]).join(',')
    return tail === ',"x":1' || tail === '}' ? `{${body}${tail}}` : `{${body}}${tail}`
  })

const INVALID_UTF8 = [[0xff], [0xc3], [0x80], [0xed, 0xa0, 0x80], [0xe0, 0x80, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xc0, 0xaf]]

/** Bytes that are not UTF-8, spliced into an ignored field, into ip or time, or outside strings. */
const badUtf8Line = fc
  .record({ base: recordLine, where: fc.constantFrom('ignored', 'ip', 'time', 'outside'), bad: fc.constantFrom(...INVALID_UTF8) })
  .map(({ base, where, bad }) => {
    const marker = where === 'ignored' ? '"ua":"caf' : where === 'ip' ? '"ip":"' : where === 'time' ? '"time":"' : ''
    const text = marker && base.includes(marker) ? base : `{"ua":"caf","time":"2019-05-06 10:00:00","ip":"1.2.3.4","status_code":500}`
    const at = where === 'outside' ? text.lastIndexOf('}') : text.indexOf(marker || '"ua":"caf') + (marker || '"ua":"caf').length
    const bytes = Buffer.from(text, 'utf8')
    const cut = Buffer.byteLength(text.slice(0, at), 'utf8')
    return Buffer.concat([bytes.subarray(0, cut), Buffer.from(bad), bytes.subarray(cut)])
  })

/** A record damaged at a random place: truncated, a byte replaced, a byte inserted. */
const damagedLine = fc
  .record({ base: recordLine, at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }), how: fc.constantFrom('cut', 'set', 'insert') })
  .map(({ base, at, byte, how }) => {
    const b = Buffer.from(base, 'utf8')
    const i = b.length ? at % b.length : 0
    if (how === 'cut') return b.subarray(0, i)
    const insert = Buffer.from([byte === 0x0a ? 0x00 : byte])
    return how === 'set'
      ? Buffer.concat([b.subarray(0, i), insert, b.subarray(i + 1)])
      : Buffer.concat([b.subarray(0, i), insert, b.subarray(i)])
  })

/** A line of some kind; `long` lines exceed small limits. */
export const anyLine = fc.oneof(
  { weight: 10, arbitrary: recordLine.map((s) => Buffer.from(s, 'utf8')) },
  { weight: 8, arbitrary: compactLine.map((s) => Buffer.from(s, 'utf8')) },
  { weight: 2, arbitrary: badUtf8Line },
  { weight: 3, arbitrary: damagedLine },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)) },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom('', ' ', '\t \r', '\r', '\0', '[1,2]', '"x"', '42', 'null', '{}', '{"a":1}x', '\u00a0{}')
      .map((s) => Buffer.from(s)),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(recordLine, fc.integer({ min: 50, max: 600 }))
      .map(([s, pad]) => Buffer.from(`{"pad":"${'x'.repeat(pad)}",${s.trim().slice(1)}`)),
  },
)

const MONTH_NAMES = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']

/** The bracketed time of a Common or Combined line: mostly valid, sometimes broken in one place. */
const clfTime = fc
  .record({
    ms: fc.integer({ min: Date.UTC(2018, 0, 1), max: Date.UTC(2021, 11, 31) }),
    offset: fc.constantFrom('+0000', '-0500', '+0130', '-2359', '+2400', '+0060', '0000', '+00:00'),
    broken: fc.oneof({ weight: 8, arbitrary: fc.constant('') }, { weight: 1, arbitrary: fc.constantFrom('month', 'day', 'hour', 'sep') }),
  })
  .map(({ ms, offset, broken }) => {
    const d = new Date(ms)
    const p = (n: number) => String(n).padStart(2, '0')
    const month = broken === 'month' ? 'oct' : MONTH_NAMES[d.getUTCMonth()]!
    const day = broken === 'day' ? '31' : p(d.getUTCDate())
    const hour = broken === 'hour' ? '24' : p(d.getUTCHours())
    const sep = broken === 'sep' ? '-' : '/'
    return `${day}${sep}${month}/${d.getUTCFullYear()}:${hour}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} ${offset}`
  })

/** A request as nginx (`\x22`) or Apache (`\"`) escapes it, or broken. */
const clfRequest = fc.oneof(
  fc.constantFrom(
    'GET / HTTP/1.1',
    'POST /api?q=1 HTTP/2.0',
    '-',
    '',
    'GET /a\\"b HTTP/1.0',
    'GET /\\x22q\\x22 HTTP/1.1',
    'GET /\\\\ HTTP/1.1',
  ),
  fc.string({ maxLength: 12 }).map((s) => s.replace(/["\\]/g, '')),
)

/** A Common or Combined line in the shapes nginx and Apache write, or damaged in one place. */
const clfLine = fc
  .record({
    client: fc.oneof(
      fc.tuple(fc.nat(255), fc.nat(255)).map(([a, b]) => `10.0.${a}.${b}`),
      fc.constantFrom('::1', 'host.example', 'é', '-', '10.0.0.1,10.0.0.2', 'NOT-UTF8'),
    ),
    user: fc.constantFrom('-', 'frank', 'a"b'),
    time: clfTime,
    request: clfRequest,
    status: fc.oneof(
      { weight: 6, arbitrary: fc.integer({ min: 498, max: 601 }).map(String) },
      { weight: 1, arbitrary: fc.constantFrom('50', '5000', '-', '5x0') },
    ),
    rest: fc.constantFrom('', ' 0', ' 177 "-" "curl/8.5"', ' 5 "http://r/" "agent \\x22q\\x22"', '\r', 'x'),
    damage: fc.oneof({ weight: 6, arbitrary: fc.constant(-1) }, { weight: 1, arbitrary: fc.nat() }),
    byte: fc.constantFrom(0x20, 0x22, 0x5b, 0x5d, 0x5c, 0xff),
  })
  .map(({ client, user, time, request, status, rest, damage, byte }) => {
    const head = client === 'NOT-UTF8' ? Buffer.from([0x31, 0xff, 0x32]) : Buffer.from(client, 'utf8')
    const line = Buffer.concat([head, Buffer.from(` - ${user} [${time}] "${request}" ${status}${rest}`, 'utf8')])
    if (damage < 0) return line
    const i = damage % line.length
    return Buffer.concat([line.subarray(0, i), Buffer.from([byte]), line.subarray(i + 1)])
  })

/** A line of an access log in Common or Combined format, or something else. */
export const anyClfLine = fc.oneof({ weight: 10, arbitrary: clfLine }, { weight: 1, arbitrary: anyLine })

/** A Common or Combined stream, joined like {@link anyStream}. */
export const anyClfStream = fc
  .record({ lines: fc.array(anyClfLine, { maxLength: 60 }), crlf: fc.boolean(), final: fc.boolean() })
  .map(({ lines, crlf, final }) =>
    Buffer.concat(lines.flatMap((line, i) => (i < lines.length - 1 || final ? [line, Buffer.from(crlf ? '\r\n' : '\n')] : [line]))),
  )

/** A stream: lines joined by `\n` or `\r\n`, with or without a final newline. */
export const anyStream = fc
  .record({
    lines: fc.array(anyLine, { maxLength: 60 }),
    crlf: fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }),
    final: fc.boolean(),
  })
  .map(({ lines, crlf, final }) => {
    const parts: Buffer[] = []
    lines.forEach((line, i) => {
      parts.push(line)
      if (i < lines.length - 1 || final) parts.push(Buffer.from(crlf[i % crlf.length] ? '\r\n' : '\n'))
    })
    return Buffer.concat(parts)
  })

/** Cuts `data` at random points (a list of fractions in [0, 1)). */
export function splitAt(data: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => Math.floor(c * data.length)))].sort((a, b) => a - b)
  const pieces: Buffer[] = []
  let prev = 0
  for (const p of points) {
    pieces.push(data.subarray(prev, p))
    prev = p
  }
  pieces.push(data.subarray(prev))
  return pieces
}

export const cuts = fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { maxLength: 12 })
