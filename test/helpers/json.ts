// JSON.parse, with object keys that hold escapes read correctly. V8 13.6+ (Node 24) can return a
// wrong key for an escaped key once an earlier parse saw a key with a backslash: the key cache
// confuses them (nodejs/node#63785, crbug 521080746; `{"a":1,"i\\b":2}` then `{"a":1,"i\bx":2}`
// reads back `i\b`). loghour never parses records with JSON.parse (the core does, in Rust); the
// test model does, so it must not inherit the bug.

/**
 * The value of a JSON text, as JSON.parse would give it (throws where it throws). Texts with a
 * backslash are rebuilt by a small reader of valid JSON, so their keys are right on every Node.
 * @example
 * parseJson('{"i\\bx":1}') // { 'i\bx': 1 }, whatever was parsed before
 */
export function parseJson(text: string): unknown {
  const value: unknown = JSON.parse(text) // validates: what it refuses stays refused
  return text.includes('\\') ? new ValidJsonReader(text).document() : value
}

const WHITESPACE = new Set([' ', '\t', '\n', '\r'])
const ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' }

/** Reads a text JSON.parse accepted; objects as JSON.parse builds them (last duplicate wins, `__proto__` an own key). */
class ValidJsonReader {
  #at = 0
  constructor(private readonly text: string) {}

  document(): unknown {
    const value = this.#value()
    this.#space()
    return value
  }

  #space(): void {
    while (WHITESPACE.has(this.text[this.#at]!)) this.#at++
  }

  #value(): unknown {
    this.#space()
    const c = this.text[this.#at]!
    if (c === '{') return this.#object()
    if (c === '[') return this.#array()
    if (c === '"') return this.#string()
    for (const [word, value] of [
      ['true', true],
      ['false', false],
      ['null', null],
    ] as const) {
      if (this.text.startsWith(word, this.#at)) {
        this.#at += word.length
        return value
      }
    }
    const number = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(this.text.slice(this.#at))![0]
    this.#at += number.length
    return Number(number)
  }

  #object(): Record<string, unknown> {
    const object: Record<string, unknown> = {}
    this.#at++ // {
    this.#space()
    if (this.text[this.#at] === '}') {
      this.#at++
      return object
    }
    for (;;) {
      this.#space()
      const key = this.#string()
      this.#space()
      this.#at++ // :
      // An own property, also for "__proto__", as JSON.parse makes it.
      Object.defineProperty(object, key, { value: this.#value(), enumerable: true, writable: true, configurable: true })
      this.#space()
      if (this.text[this.#at++] === '}') return object
    }
  }

  #array(): unknown[] {
    const array: unknown[] = []
    this.#at++ // [
    this.#space()
    if (this.text[this.#at] === ']') {
      this.#at++
      return array
    }
    for (;;) {
      array.push(this.#value())
      this.#space()
      if (this.text[this.#at++] === ']') return array
    }
  }

  #string(): string {
    let out = ''
    this.#at++ // "
    for (;;) {
      const c = this.text[this.#at++]!
      if (c === '"') return out
      if (c !== '\\') {
        out += c
        continue
      }
      const e = this.text[this.#at++]!
      if (e === 'u') {
        out += String.fromCharCode(Number.parseInt(this.text.slice(this.#at, this.#at + 4), 16))
        this.#at += 4
      } else out += ESCAPES[e]
    }
  }
}
