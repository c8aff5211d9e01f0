// The server's log file, kept the way the original service's loguru sink kept it, so its
// `.env` (LOG_FILENAME=logs/consumer_{time:YYYY-MM-DD}.log, LOG_FILE_ROTATION=500 MB) logs to
// the same place: the path with `{time:FORMAT}` filled in when the file is opened, rotation by
// size or time, the rotated file renamed `<name>.<YYYY-MM-DD_HH-mm-ss_SSSSSS><ext>`.
import { closeSync, mkdirSync, openSync, readdirSync, renameSync, statSync, unlinkSync } from 'node:fs'
import { basename, dirname, extname, join } from 'node:path'
import { pino } from 'pino'
import { fillTemplate, nextBoundary, type Rotation, renamedPath, templatePattern } from './log-names.js'

export type { Rotation } from './log-names.js'

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
  /** Bytes given to the writer, and bytes it has written (its 'write' events). */
  #given = 0
  #written = 0

  /** Opens (creates, with its directory) the file now: an unusable path is an error at once. */
  constructor(options: LogFileOptions) {
    this.#options = options
    const now = new Date()
    this.#path = fillTemplate(options.template, now)
    this.#bytes = probe(this.#path)
    this.#created = now
    this.#due = nextBoundary(options.rotation, now)
    this.#writer = pino.destination({ dest: this.#path, mkdir: true, sync: false })
    this.#writer.on('write', (n: number) => {
      this.#written += n
    })
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
    const length = Buffer.byteLength(line)
    this.#bytes += length
    this.#given += length
    // Not while the last rotation's file is still being opened: its lines are still in the
    // writer's buffer, and renaming that file now would rotate an empty one.
    if (this.#reopening) return
    if ((bytes !== undefined && this.#bytes >= bytes) || Date.now() >= this.#due) this.#rotate()
  }

  /**
   * Writes everything buffered (after a rotation, once the new file is open), then calls back
   * when every byte given is written: the writer's own flush calls back while a write is still in
   * flight, which an exit right after would cut.
   */
  flush(callback: (error?: Error) => void = () => {}): void {
    const wait = () => {
      if (this.#written >= this.#given || this.#failed) return callback()
      const onWrite = () => {
        if (this.#written < this.#given) return
        this.#writer.off('write', onWrite)
        this.#writer.off('error', onError)
        callback()
      }
      const onError = (error: Error) => {
        this.#writer.off('write', onWrite)
        callback(error)
      }
      this.#writer.on('write', onWrite)
      this.#writer.once('error', onError)
    }
    const flush = () => this.#writer.flush((error) => (error ? callback(error) : wait()))
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
