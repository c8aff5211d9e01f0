import type { NativeSketchSet } from '../native.js'

/**
 * Where a consumer's hourly counts live. The consumer's native sketch set always receives the
 * lines; a store decides what the counts are and where changes go.
 */
export interface HourStore {
  /** `'memory'` or `'redis'`. */
  readonly kind: string
  /** Distinct users per hour, 24 numbers. */
  hourCounts(): Promise<number[]>
  /** Makes every counted line durable in the store (no-op for memory). */
  flush(): Promise<void>
  /** Flushes and releases what the store owns. */
  close(): Promise<void>
}

/** Creates a store over a consumer's sketch set. */
export type StoreFactory = (sketches: NativeSketchSet) => HourStore
