import { once } from 'node:events'
import { type DemoPattern, demoLines } from '../demo.js'

export interface GenOptions {
  pattern: DemoPattern
  count: number
  start: number
}

/** Lines per native call: ~4.5 MB blocks keep the pipe full without holding much memory. */
const BATCH = 65536

/** `loghour gen`: the original service's demo streams on stdout. */
export async function gen(options: GenOptions): Promise<void> {
  const end = options.start + options.count
  for (let i = options.start; i < end; i += BATCH) {
    if (!process.stdout.write(demoLines(options.pattern, i, Math.min(BATCH, end - i)))) {
      await once(process.stdout, 'drain')
    }
  }
}
