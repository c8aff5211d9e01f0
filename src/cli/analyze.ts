import { closeSync, openSync, readSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { LogConsumer } from '../consumer.js'
import { renderDashboard } from '../dashboard.js'
import type { StatsQuery } from '../days.js'
import { mostlyUnreadableWarning, unreadableHint } from '../hints.js'
import { OPEN_NATIVE_STREAM } from '../native.js'
import type { ConsumerOptions } from '../options.js'
import { renderStats } from '../render.js'
import { describeReading, type READING_OPTIONS, type Reading, streamReading } from '../schemas.js'
import { type LineCounts, lineCountsOf, type Stats } from '../stats.js'

/**
 * `--json`, `--html FILE` (also write the report there), and the consumer's reading options (the
 * declared defaults when not given).
 */
export type AnalyzeOptions = { json?: boolean; html?: string; query?: StatsQuery | undefined } & Pick<
  ConsumerOptions,
  'maxLineBytes' | (typeof READING_OPTIONS)[number] | (typeof ANSWER_OPTIONS)[number]
>

/** The consumer options that shape the answer (every user, groups) besides how records are read. */
export const ANSWER_OPTIONS = ['allUsers', 'minUsers', 'groupBy', 'maxGroups', 'top'] as const

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

/** Exit code of `loghour analyze` when an input had lines but none could be read. */
export const UNREADABLE_EXIT_CODE = 3

/** How one input was read, and its line counts. */
interface InputReading {
  source: string
  reading: Reading | undefined
  lines: LineCounts
}

/**
 * `loghour analyze [FILE…]`: the answer for files or stdin, no server or Redis needed; with
 * `html`, also the same picture as the live dashboard's, as a self-contained HTML file. Says how
 * each input was read; an input none of whose lines could be read is an error (exit code 3) with
 * a hint, one mostly unreadable a warning.
 */
export async function analyze(files: string[], options: AnalyzeOptions): Promise<void> {
  const { json, html, query, ...reading } = options
  const sources = files.length > 0 ? files : ['-']
  const report = html === undefined ? undefined : openReport(html)
  try {
    const { stats, inputs } = await read(sources, reading, query)
    const unreadable = inputs.filter((i) => i.lines.total > 0 && i.lines.counted + i.lines.skipped === 0)
    for (const input of inputs) {
      const name = input.source === '-' ? 'stdin' : input.source
      if (unreadable.includes(input)) process.stderr.write(unreadableHint(name, input.reading, input.lines))
      else if (input.lines.invalid * 2 > input.lines.total) process.stderr.write(mostlyUnreadableWarning(name, input.reading, input.lines))
    }
    if (unreadable.length === inputs.length) {
      report?.discard()
      process.exitCode = UNREADABLE_EXIT_CODE
      return
    }
    const readings = inputs.map((i) => ({ ...(inputs.length > 1 ? { source: i.source } : {}), ...i.reading }))
    const answer = { ...stats, reading: inputs.length === 1 ? readings[0] : readings }
    report?.write(renderDashboard({ live: false, snapshot: { ...answer, generatedAt: new Date().toISOString(), sources } }))
    if (json) {
      process.stdout.write(`${JSON.stringify(answer, null, 2)}\n`)
    } else {
      const said = inputs.map((i) => `${inputs.length > 1 ? `${i.source === '-' ? 'stdin' : i.source}: ` : ''}${saidReading(i.reading)}\n`)
      process.stdout.write(said.join('') + renderStats(stats))
    }
    if (unreadable.length > 0) process.exitCode = UNREADABLE_EXIT_CODE
  } catch (error) {
    report?.discard()
    throw error
  }
}

/** `read as nginx/Apache Combined log lines (detected)`. */
function saidReading(reading: Reading | undefined): string {
  if (reading === undefined) return 'read nothing (no record)'
  return `read as ${describeReading(reading)} (${reading.detected ? 'detected' : 'as set'})`
}

/** Reads every source into one consumer: its stats (for the window and table of `query`), and how each input was read. */
async function read(
  sources: string[],
  reading: Omit<AnalyzeOptions, 'json' | 'html' | 'query'>,
  query?: StatsQuery,
): Promise<{ stats: Stats; inputs: InputReading[] }> {
  // Per-day sketches only when a window or the table is asked for; then every day of the files.
  const consumer = new LogConsumer({ ...reading, ...(query ? { daily: true } : {}) }, { everyDay: true })
  const buffer = Buffer.allocUnsafe(READ_SIZE)
  const inputs: InputReading[] = []
  for (const file of sources) {
    // Each input is its own stream: it decides its own reading, and a file's unterminated last
    // line never joins the next file.
    const input = consumer[OPEN_NATIVE_STREAM](undefined, true)
    try {
      if (file === '-') {
        for await (const chunk of process.stdin) input.write(chunk as Buffer)
      } else {
        const fd = openSync(file, 'r')
        try {
          for (let n = readSync(fd, buffer, 0, READ_SIZE, null); n > 0; n = readSync(fd, buffer, 0, READ_SIZE, null)) {
            input.write(buffer.subarray(0, n))
          }
        } finally {
          closeSync(fd)
        }
      }
      input.end()
    } catch (error) {
      throw new Error(`cannot read ${file === '-' ? 'stdin' : file}: ${(error as Error).message}`)
    }
    const counts = input.lineCounts()
    inputs.push({ source: file, reading: streamReading(input, consumer.options), lines: lineCountsOf(counts!).lines })
  }
  const stats = await consumer.stats(query)
  await consumer.close()
  return { stats, inputs }
}
