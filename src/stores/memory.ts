import type { DayWindow } from '../days.js'
import { HOURS, type NativeGroups, type NativeSketchSet } from '../native.js'
import { checkSnapshotWritable, encodeSnapshot, restoreSnapshot, writeFileAtomic } from './snapshot.js'
import { bitCount, type HourCounts, type HourStore, OutageTracker, type StoreEvents, type WindowCounts } from './store.js'

/**
 * The embedded store: the sketches in this process are the answer. With a snapshot file, they
 * are restored at start and written atomically on every flush that has something new, and on
 * close, so counts survive restarts.
 */
export class MemoryStore implements HourStore {
  readonly kind = 'memory'
  readonly #sketches: NativeSketchSet
  readonly #snapshot: string | undefined
  readonly #outage: OutageTracker
  /** Lines read when the snapshot was last written: nothing new, nothing to write. */
  #savedAt = -1
  /** The snapshot write in progress: writes never overlap. */
  #writing: Promise<void> = Promise.resolve()

  constructor(sketches: NativeSketchSet, snapshot?: string, events?: StoreEvents) {
    this.#sketches = sketches
    this.#snapshot = snapshot
    this.#outage = new OutageTracker(events)
    if (snapshot !== undefined) {
      if (restoreSnapshot(snapshot, sketches)) this.#savedAt = this.#linesSeen()
      checkSnapshotWritable(snapshot) // now, not at the first save or at exit
    }
  }

  #linesSeen(): number {
    const c = this.#sketches.lineCounts()
    return c.total + c.blank
  }

  /** Why the last snapshot write failed, until one succeeds. */
  problem(): Error | undefined {
    return this.#outage.problem
  }

  /** The memory store has no replicas. */
  replicaShortfalls(): [] {
    return []
  }

  /** The memory store is this process: it always answers. */
  async ping(): Promise<void> {}

  async hourCounts(): Promise<HourCounts> {
    const users = this.#sketches.users()
    return users ? { hours: this.#sketches.hourCounts(), users: users.hourCounts() } : { hours: this.#sketches.hourCounts() }
  }

  async windowCounts({ from, to }: DayWindow, byWeekday: boolean): Promise<WindowCounts> {
    const answer: WindowCounts = { hours: this.#sketches.windowCounts(from, to) }
    if (byWeekday) answer.weekdays = this.#sketches.weekdayCounts(from, to)
    const users = this.#sketches.users()
    if (users) {
      answer.users = users.windowCounts(from, to)
      if (byWeekday) answer.userWeekdays = users.weekdayCounts(from, to)
    }
    return answer
  }

  async groupCounts(top: number): Promise<NativeGroups | null> {
    return this.#sketches.groupCounts(top)
  }

  flush(): Promise<void> {
    const next = this.#writing.catch(() => {}).then(() => this.#write())
    this.#writing = next
    return next
  }

  async #write(): Promise<void> {
    if (this.#snapshot === undefined) return
    const seen = this.#linesSeen()
    if (seen === this.#savedAt) return
    const started = Date.now()
    const data = encodeSnapshot(this.#sketches)
    try {
      await writeFileAtomic(this.#snapshot, data)
    } catch (error) {
      this.#outage.failed(error as Error)
      throw new Error(`loghour: cannot write snapshot ${this.#snapshot}: ${(error as Error).message}`, { cause: error })
    }
    this.#savedAt = seen
    const dayHours = this.#sketches.dayHours().reduce((n, { hours }) => n + bitCount(hours), 0)
    this.#outage.succeeded({ hours: HOURS, dayHours, groupHours: 0, bytes: data.length, ms: Date.now() - started })
  }

  async close(): Promise<void> {
    await this.flush()
  }
}
