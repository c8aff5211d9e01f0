import { closeSync, openSync, readSync } from 'node:fs'
import { pipeline } from 'node:stream/promises'
import { createConsumer } from '../consumer.js'
import { OPEN_NATIVE_STREAM } from '../native.js'
import type { ConsumerOptions } from '../options.js'
import { renderStats } from '../render.js'
import type { READING_OPTIONS } from '../schemas.js'

/** `--json`, and the consumer's reading options (the declared defaults when not given). */
export type AnalyzeOptions = { json?: boolean } & Pick<ConsumerOptions, 'maxLineBytes' | (typeof READING_OPTIONS)[number]>

/** Big reads into one reused buffer: fewer native calls, no garbage per chunk. */
const READ_SIZE = 1 << 20

/** `loghour analyze [FILE…]`: the answer for files or stdin, no server or Redis needed. */
export async function analyze(files: string[], options: AnalyzeOptions): Promise<void> {
  const { json, ...reading } = options
  const consumer = createConsumer(reading)
  const buffer = Buffer.allocUnsafe(READ_SIZE)
  for (const file of files.length > 0 ? files : ['-']) {
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
  const stats = await consumer.stats()
  await consumer.close()
  process.stdout.write(json ? `${JSON.stringify(stats, null, 2)}\n` : renderStats(stats))
}
