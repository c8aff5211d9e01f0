import { createReadStream } from 'node:fs'
import { pipeline } from 'node:stream/promises'
import { createConsumer } from '../consumer.js'
import { renderStats } from '../render.js'

export interface AnalyzeOptions {
  json?: boolean
  maxLineBytes: number
}

/** Big reads: fewer native calls, and the kernel's readahead does the rest. */
const READ_SIZE = 1 << 20

/** `loghour analyze [FILE…]`: the answer for files or stdin, no server or Redis needed. */
export async function analyze(files: string[], options: AnalyzeOptions): Promise<void> {
  const consumer = createConsumer({ maxLineBytes: options.maxLineBytes })
  for (const file of files.length > 0 ? files : ['-']) {
    const source = file === '-' ? process.stdin : createReadStream(file, { highWaterMark: READ_SIZE })
    try {
      // Each input is its own stream: a file's unterminated last line never joins the next file.
      await pipeline(source, consumer.openStream())
    } catch (error) {
      const reason = (error as Error).message
      throw new Error(`cannot read ${file === '-' ? 'stdin' : file}: ${reason}`)
    }
  }
  const stats = await consumer.stats()
  await consumer.close()
  process.stdout.write(options.json ? `${JSON.stringify(stats, null, 2)}\n` : renderStats(stats))
}
