import { NativeScanner, elementHash as nativeElementHash } from './native.js'
import { type ConsumerOptions, OptionError, resolveConsumerOptions } from './options.js'
import { nativeRule, READING_OPTIONS, type Reading, type ReadingOptions, streamReading } from './schemas.js'
import { lineCountsOf, type Stats } from './stats.js'

/** The consumer options that also apply to a scanner (it keeps no store). */
const SCANNER_OPTIONS = ['maxLineBytes', ...READING_OPTIONS] as const

/** Options of {@link createScanner}: the consumer's `maxLineBytes` and how records are read (`format`, `schema`, `fields`, …). */
export type ScannerOptions = Pick<ConsumerOptions, (typeof SCANNER_OPTIONS)[number]>

/**
 * The counted lines of a chunk, ready for your own deduplication: for the i-th counted line,
 * `hours[i]` is its hour (0–23) and `hashes[i]` the 64-bit MurmurHash64A (Redis's seed) of its
 * element `"YYYY-MM-DD HH_<ip>"` — the hash Redis's `PFADD` would compute.
 */
export interface ScanResult {
  hours: Uint8Array
  hashes: BigUint64Array
}

/**
 * Applies the counting rule to a stream without keeping sketches: for embedders with their own
 * storage. Chunks may split lines anywhere.
 *
 * @example
 * ```ts
 * const scanner = createScanner()
 * const { hours, hashes } = scanner.scan(chunk)
 * for (let i = 0; i < hours.length; i++) mySet(hours[i]).add(hashes[i])
 * scanner.end() // the final unterminated line, if any
 * ```
 */
export class LogScanner {
  readonly #native: NativeScanner
  readonly #reading: ReadingOptions

  constructor(options: ScannerOptions = {}) {
    for (const key of Object.keys(options ?? {})) {
      if (!(SCANNER_OPTIONS as readonly string[]).includes(key)) {
        throw new OptionError(key, `loghour: unknown scanner option "${key}"; known options: ${SCANNER_OPTIONS.join(', ')}`)
      }
    }
    const resolved = resolveConsumerOptions(options)
    this.#native = new NativeScanner(resolved.maxLineBytes, nativeRule(resolved))
    this.#reading = resolved
  }

  /**
   * How the records are read: with `format: 'auto'` what the scanner decided from its first
   * records (undefined until they are in), else what the options set.
   */
  get reading(): Reading | undefined {
    return streamReading(this.#native, this.#reading)
  }

  /** Scans a chunk (Buffer or string); returns the lines it completed that count. */
  scan(chunk: Uint8Array | string): ScanResult {
    return this.#native.scan(typeof chunk === 'string' ? Buffer.from(chunk) : chunk)
  }

  /** Ends the stream: scans an unterminated final line. */
  end(): ScanResult {
    return this.#native.end()
  }

  /** Line counts so far, and invalid lines by reason. */
  lineCounts(): Pick<Stats, 'lines' | 'invalid'> {
    return lineCountsOf(this.#native.lineCounts())
  }
}

/** Creates a {@link LogScanner}. */
export function createScanner(options: ScannerOptions = {}): LogScanner {
  return new LogScanner(options)
}

/**
 * MurmurHash64A with Redis's seed of an element (a string is hashed as its UTF-8 bytes): the
 * hash `PFADD` computes, and the one {@link ScanResult.hashes} holds.
 *
 * @example
 * ```ts
 * elementHash('2019-05-06 17_10.0.121.67') === 0xbf6676378b7437fcn
 * ```
 */
export function elementHash(element: Uint8Array | string): bigint {
  return nativeElementHash(typeof element === 'string' ? Buffer.from(element) : element)
}
