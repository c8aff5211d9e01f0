import type { NativeSketchSet } from '../native.js'
import type { HourStore } from './store.js'

/** The embedded store: the sketches in this process are the answer. */
export class MemoryStore implements HourStore {
  readonly kind = 'memory'
  readonly #sketches: NativeSketchSet

  constructor(sketches: NativeSketchSet) {
    this.#sketches = sketches
  }

  async hourCounts(): Promise<number[]> {
    return this.#sketches.hourCounts()
  }

  async flush(): Promise<void> {}

  async close(): Promise<void> {}
}
