// Custom field names: the compact fast path and the full scan must give what JSON.parse gives,
// whatever the names hold (quotes, backslashes, control characters, non-ASCII), and names that
// cannot work are refused when the consumer or scanner is created.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createConsumer, createScanner, INVALID_REASONS, OptionError } from '../src/index.js'
import { jsonString } from './helpers/arbitraries.js'
import { parseJson } from './helpers/json.js'
import { type ModelNames, modelStream } from './helpers/model.js'
import { murmur64a } from './helpers/murmur.js'

/** Characters a name is made of: plain ones, and every kind the fast path must not take raw. */
const nameChar = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('a', 'i', 'p', 't', '_', '.', '-', ' ', '/', ':') },
  { weight: 2, arbitrary: fc.constantFrom('"', '\\', '\b', '\u0001', '\t', '\n', '\u001f') },
  { weight: 1, arbitrary: fc.constantFrom('é', '😀', '\u2028', '\u007f') },
)
const name = fc.oneof(
  { weight: 6, arbitrary: fc.array(nameChar, { minLength: 1, maxLength: 5 }).map((cs) => cs.join('')) },
  { weight: 1, arbitrary: fc.constantFrom('time', 'ip', 'status_code', 'i\\b', 'i\b') },
)
const names = fc.record({ time: name, ip: name, status: name })

/** How a key is written in a line: raw (its bytes as they are, maybe not even JSON) or escaped. */
const keyText = (key: string, how: number, escapes: number[]) => (how % 3 === 0 ? `"${key}"` : jsonString(key, escapes))

/** A compact record (no spaces, the fast path's layout) with keys from `names` and near misses. */
const recordFor = (n: ModelNames) =>
  fc
    .record({
      how: fc.array(fc.nat(), { minLength: 3, maxLength: 3 }),
      escapes: fc.array(fc.nat(20), { maxLength: 4 }),
      order: fc.constantFrom([0, 1, 2], [0, 1, 2], [1, 0, 2], [2, 1, 0]),
      hour: fc.integer({ min: 0, max: 23 }),
      day: fc.integer({ min: 6, max: 12 }), // 2019-05-06 is a Monday; 11 and 12 are a weekend
      ip: fc.constantFrom('10.0.0.1', '1.2.3.4', '::1'),
      status: fc.constantFrom(200, 500, 503),
      miss: fc.constantFrom(-1, -1, -1, 0, 1, 2),
    })
    .map((r) => {
      const time = `2019-05-${String(r.day).padStart(2, '0')} ${String(r.hour).padStart(2, '0')}:00:00`
      const keys = [n.time, n.ip, n.status].map((k, i) => (i === r.miss ? `${k}x` : k))
      const members = [
        `${keyText(keys[0]!, r.how[0]!, r.escapes)}:"${time}"`,
        `${keyText(keys[1]!, r.how[1]!, r.escapes)}:"${r.ip}"`,
        `${keyText(keys[2]!, r.how[2]!, r.escapes)}:${r.status}`,
      ]
      return `{${r.order.map((k) => members[k]).join(',')}}`
    })

const distinct = (n: ModelNames) => new Set([n.time, n.ip, n.status]).size === 3

describe('custom field names', () => {
  it('the scanner agrees with JSON.parse for any distinct names, fast path or not', () => {
    fc.assert(
      fc.property(
        names.filter(distinct).chain((n) => fc.tuple(fc.constant(n), fc.array(recordFor(n), { minLength: 1, maxLength: 30 }))),
        ([n, lines]) => {
          const stream = Buffer.from(`${lines.join('\n')}\n`, 'utf8')
          const model = modelStream(stream, 65536, INVALID_REASONS, { names: n, strict: false })
          const scanner = createScanner({ fields: n, format: 'json' })
          const { hours, hashes } = scanner.scan(stream)
          const got = Array.from(hours, (h, i) => `${h}:${hashes[i]!.toString(16)}`)
          expect(got).toEqual(model.counted.map(({ hour, element }) => `${hour}:${murmur64a(element).toString(16)}`))
          expect(scanner.lineCounts()).toEqual({ lines: model.lines, invalid: model.invalid })
        },
      ),
      { numRuns: 600 },
    )
  })

  it("the model reads escaped keys right after a key with a backslash was seen (V8's key-cache bug on Node 24)", () => {
    JSON.parse(String.raw`{"a":"1","i\\b":"2"}`) // a key i, backslash, b: poisons V8 13.6's key cache
    const keys = Object.keys(parseJson(String.raw`{"a":"1","i\bx":"2"}`) as object)
    expect(keys.map((k) => Buffer.from(k).toString('hex'))).toEqual(['61', '690878']) // a, i BS x
    expect(parseJson('{"__proto__":1,"k":2,"k":3}')).toEqual(JSON.parse('{"__proto__":1,"k":2,"k":3}'))
    expect(() => parseJson('{"a":1,}')).toThrow(SyntaxError)
  })

  it("the issue's reproducer: the key i\\b (i + backspace) is not the name i\\b", async () => {
    const line = '{"time":"2019-05-06 17:25:54","i\\b":"1.2.3.4","status_code":500}\n'
    for (const input of [line, ` ${line}`]) {
      const consumer = createConsumer({ fields: { ip: 'i\\b' } })
      consumer.write(input)
      const stats = await consumer.stats()
      expect(stats.invalid.missingField).toBe(1)
      expect(stats.lines.counted).toBe(0)
    }
  })

  it('names that cannot work are refused: the same name twice, a lone surrogate', () => {
    fc.assert(
      fc.property(
        names.filter((n) => !distinct(n)),
        (n) => {
          expect(() => createScanner({ fields: n })).toThrow(OptionError)
          expect(() => createConsumer({ fields: n })).toThrow(/time, ip and status must be three different field paths/)
        },
      ),
      { numRuns: 50 },
    )
    expect(() => createConsumer({ fields: { ip: 'time' } })).toThrow(
      'loghour: invalid option "fields": time, ip and status must be three different field paths, got "time" twice (with the original schema\'s)',
    )
    expect(() => createConsumer({ fields: { ip: 'a\ud800' } })).toThrow(
      'loghour: invalid option "fields.ip": expected well-formed Unicode (it has a lone surrogate)',
    )
  })
})
