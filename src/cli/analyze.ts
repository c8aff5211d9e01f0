import { closeSync, openSync, readSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { LogConsumer } from '../consumer.js'
import { renderDashboard } from '../dashboard.js'
import type { StatsQuery } from '../days.js'
import { OPEN_NATIVE_STREAM } from '../native.js'
import type { ConsumerOptions } from '../options.js'
import { renderStats } from '../render.js'
import type { READING_OPTIONS } from '../schemas.js'
import type { Stats } from '../stats.js'

/**
 * `--json`, `--html FILE` (also write the report there), and the consumer's reading options (the
 * declared defaults when not given).
 */
export type AnalyzeOptions = { json?: boolean; html?: string; query?: StatsQuery | undefined } & Pick<
  ConsumerOptions,
  'maxLineBytes' | (typeof READING_OPTIONS)[number]
>

/** Big reads into one reused buffer: fewer native calls, no garbage per chunk. */
const READ_SIZE = 1 << 20

/** Why `file` cannot be written, in one line (Node's message without the temporary file's path). */
function cannotWrite(file: string, error: unknown): Error {
  return new Error(`cannot write ${file}: ${(error as Error).message.replace(/, \w+ '.*'$/, '')}`)
}

/**
 * Why the rename at the end would be refused although the directory is writable, or null: in a
 * sticky directory (/tmp) only a file's owner, the directory's owner or root may replace it.
 * @example
 * replaceProblem('/tmp/report.html', 1000) // "EPERM: …" when root owns /tmp/report.html
 */
export function replaceProblem(file: string, euid: number | undefined = process.geteuid?.()): string | null {
  const existing = statSync(file, { throwIfNoEntry: false })
  if (existing === undefined || euid === undefined || euid === 0 || euid === existing.uid) return null
  const directory = statSync(dirname(file))
  return (directory.mode & 0o1000) === 0 || directory.uid === euid ? null : 'EPERM: it belongs to another user in a sticky directory'
}

/**
 * The HTML report's file, written beside `file` and renamed over it once complete: a report that
 * cannot be written fails before the inputs are read, and an old one stays whole until then.
 */
function openReport(file: string): { write(html: string): void; discard(): void } {
  const temporary = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`)
  let fd: number
  try {
    const existing = statSync(file, { throwIfNoEntry: false })
    if (existing?.isDirectory()) throw new Error('EISDIR: it is a directory')
    const refused = replaceProblem(file)
    if (refused !== null) throw new Error(refused)
    fd = openSync(temporary, 'wx')
  } catch (error) {
    throw cannotWrite(file, error)
  }
  let open = true
  const close = () => {
    if (open) closeSync(fd)
    open = false
  }
  return {
    write(html) {
      try {
        writeFileSync(fd, html)
        close()
        renameSync(temporary, file)
      } catch (error) {
        throw cannotWrite(file, error)
      }
    },
    discard() {
      close()
      rmSync(temporary, { force: true })
    },
  }
}

/**
 * `loghour analyze [FILE…]`: the answer for files or stdin, no server or Redis needed; with
 * `html`, also the same picture as the live dashboard's, as a self-contained HTML file.
 */
export async function analyze(files: string[], options: AnalyzeOptions): Promise<void> {
  const { json, html, query, ...reading } = options
  const sources = files.length > 0 ? files : ['-']
  const report = html === undefined ? undefined : openReport(html)
  try {
    const stats = await read(sources, reading, query)
    report?.write(renderDashboard({ live: false, snapshot: { ...stats, generatedAt: new Date().toISOString(), sources } }))
    process.stdout.write(json ? `${JSON.stringify(stats, null, 2)}\n` : renderStats(stats))
  } catch (error) {
    report?.discard()
    throw error
  }
}

/** Reads every source into one consumer: its stats (for the window and table of `query`). */
async function read(sources: string[], reading: Omit<AnalyzeOptions, 'json' | 'html' | 'query'>, query?: StatsQuery): Promise<Stats> {
  // Per-day sketches only when a window or the table is asked for; then every day of the files.
  const consumer = new LogConsumer({ ...reading, ...(query ? { daily: true } : {}) }, { everyDay: true })
  const buffer = Buffer.allocUnsafe(READ_SIZE)
  for (const file of sources) {
    try {
      if (file === '-') {
        await pipeline(process.stdin, consumer.openStream())
        continue
      }
      // Each input is its own stream: a file's unterminated last line never joins the next file.
      const input = consumer[OPEN_NATIVE_STREAM]()
      const fd = openSync(file, 'r')
      try {
        for (let n = readSync(fd, buffer, 0, READ_SIZE, null); n > 0; n = readSync(fd, buffer, 0, READ_SIZE, null)) {
          input.write(buffer.subarray(0, n))
        }
      } finally {
        closeSync(fd)
      }
      input.end()
    } catch (error) {
      throw new Error(`cannot read ${file === '-' ? 'stdin' : file}: ${(error as Error).message}`)
    }
  }
  const stats = await consumer.stats(query)
  await consumer.close()
  return stats
}
