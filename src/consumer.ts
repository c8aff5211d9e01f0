import { Writable } from 'node:stream'
import { NativeSketchSet, type NativeLineStream } from './native.js'
import { resolveConsumerOptions, type ConsumerOptions, type ResolvedConsumerOptions } from './options.js'
import { buildStats, type Stats } from './stats.js'
import { MemoryStore } from './stores/memory.js'
import type { HourStore } from './stores/store.js'

type Callback = (error?: Error | null) => void

/** Counts the lines of chunks before calling back: the native stream never defers work. */
function feed(native: NativeLineStream, chunks: { chunk: Buffer }[], callback: Callback): void {
  try {
    for (const { chunk } of chunks) native.write(chunk)
  } catch (error) {
    return callback(error as Error)
  }
  callback()
}

function finish(native: NativeLineStream, callback: Callback): void {
  try {
    native.finish()
  } catch (error) {
    return callback(error as Error)
  }
  callback()
}

/** Node buffers this much before `write()` asks for backpressure; lines are counted at once. */
const HIGH_WATER_MARK = 4 * 1024 * 1024

/**
 * One input stream of a consumer (a file, a socket): it has its own partial line, and feeds the
 * consumer's shared sketches. Ending it counts an unterminated final line.
 */
export class LogInput extends Writable {
  readonly #native: NativeLineStream

  /** @internal use {@link LogConsumer.openStream}. */
  constructor(native: NativeLineStream) {
    super({ highWaterMark: HIGH_WATER_MARK, decodeStrings: true })
    this.#native = native
  }

  /** Bytes of an incomplete line waiting for its `\n`. */
  get pendingBytes(): number {
    return this.#native.buffered()
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: Callback): void {
    feed(this.#native, [{ chunk }], callback)
  }

  override _writev(chunks: { chunk: Buffer }[], callback: Callback): void {
    feed(this.#native, chunks, callback)
  }

  override _final(callback: Callback): void {
    finish(this.#native, callback)
  }
}

/**
 * Counts, from newline-delimited JSON access logs, the distinct users who saw a 5xx at each hour
 * of the working day. Write chunks of any size and split (it is a `Writable`: pipe a file or a
 * socket into it); ask {@link LogConsumer.stats} for the answer at any moment.
 *
 * @example
 * ```ts
 * import { createConsumer } from 'loghour'
 * const consumer = createConsumer()
 * consumer.write('{"time":"2019-05-06 17:25:54","ip":"10.0.121.67","status_code":500}\n')
 * const { peakHour, hours } = await consumer.stats() // 17, hours[17] === 1
 * await consumer.close()
 * ```
 */
export class LogConsumer extends Writable {
  /** The options in effect, defaults applied. */
  readonly options: Readonly<ResolvedConsumerOptions>
  readonly #sketches: NativeSketchSet
  readonly #native: NativeLineStream
  readonly #store: HourStore
  #closing: Promise<void> | undefined

  constructor(options: ConsumerOptions = {}) {
    const resolved = resolveConsumerOptions(options)
    super({ highWaterMark: HIGH_WATER_MARK, decodeStrings: true })
    this.options = Object.freeze(resolved)
    this.#sketches = new NativeSketchSet(resolved.fields)
    this.#native = this.#sketches.openStream(resolved.maxLineBytes)
    this.#store = new MemoryStore(this.#sketches)
  }

  /** The store's kind: `'memory'` or `'redis'`. */
  get storeKind(): string {
    return this.#store.kind
  }

  /**
   * Opens another independent input (a file, a connection) that feeds the same counts; each
   * has its own partial line, so inputs never mix their lines.
   */
  openStream(): LogInput {
    return new LogInput(this.#sketches.openStream(this.options.maxLineBytes))
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: Callback): void {
    feed(this.#native, [{ chunk }], callback)
  }

  override _writev(chunks: { chunk: Buffer }[], callback: Callback): void {
    feed(this.#native, chunks, callback)
  }

  override _final(callback: Callback): void {
    finish(this.#native, callback)
  }

  /** Makes everything counted so far durable in the store (a no-op for the memory store). */
  async flush(): Promise<void> {
    await this.#store.flush()
  }

  /** Per-hour distinct users, the peak hour and line counters, now. */
  async stats(): Promise<Stats> {
    const hours = await this.#store.hourCounts()
    return buildStats(hours, this.#sketches.counters())
  }

  /**
   * The local sketch of an hour as the 12304-byte dense value Redis would hold after `PFADD`ing
   * the same elements (`SET` it and `PFMERGE` it anywhere).
   */
  exportHour(hour: number): Buffer {
    if (!Number.isInteger(hour) || hour < 0 || hour > 23) {
      throw new RangeError(`loghour: hour must be an integer from 0 to 23, got ${hour}`)
    }
    return this.#sketches.exportHour(hour)
  }

  /** Ends the input (an unterminated final line counts), flushes and releases the store. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      if (!this.writableFinished && !this.destroyed) {
        await new Promise<void>((resolve, reject) => {
          this.once('error', reject)
          this.end(() => resolve())
        })
      }
      await this.#store.close()
    })()
    return this.#closing
  }
}

/**
 * Creates a {@link LogConsumer}.
 * @throws {OptionError} for an unknown option, a wrong type or an out-of-range value.
 */
export function createConsumer(options?: ConsumerOptions): LogConsumer {
  return new LogConsumer(options)
}
