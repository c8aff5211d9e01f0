// The memory store's snapshot file: 24 hourly sketches and the line counters, written
// atomically (temp file, fsync, rename, fsync of the directory) and checked when read.
//
// Layout (little-endian):
//   0   8  magic "LGHRSNAP"
//   8   4  format version (2; version 1 files, without the day section, are read too)
//   12  4  number of invalid reasons R
//   16  8  written at (Unix ms)
//   24  8  total, counted, skipped, blank (4 × u64) …
//   56  8·R invalid lines per reason, in INVALID_REASONS order
//   …   24 × 12304 dense Redis HLL values, hours 0..23
//   …   4  v2: bytes D of the day section, then D bytes of per-day sketches (NativeSketchSet.encodeDays)
//   end 4  CRC-32 of every byte before it
import { randomBytes } from 'node:crypto'
import { closeSync, constants, existsSync, fstatSync, openSync, readFileSync, statSync, unlinkSync } from 'node:fs'
import { open, rename, unlink } from 'node:fs/promises'
import { dirname } from 'node:path'
import { crc32 } from 'node:zlib'
import { DENSE_SIZE, HOURS, type NativeLineCounts, type NativeSketchSet } from '../native.js'

const MAGIC = Buffer.from('LGHRSNAP')
const VERSION = 3

/** What the user can do about a snapshot that cannot be used. */
const GUIDANCE = 'it was left untouched (move it away to start empty, or restore a backup)'

/**
 * Day-hours a snapshot can hold: `--retain-days` at most (3660) plus today and tomorrow, 24 hours
 * each, every one dense (6 bytes of day and hour, then the value).
 */
const MAX_DAY_BYTES = (3660 + 2) * HOURS * (6 + DENSE_SIZE)

/**
 * The largest file the format allows (64 invalid reasons at most, every user's sketches too), and
 * at most what Node reads into one buffer (2 GiB): larger ones are not read.
 */
export const MAX_SNAPSHOT_BYTES = Math.min(24 + 8 * (4 + 64) + 2 * (HOURS * DENSE_SIZE + 4 + MAX_DAY_BYTES) + 4 + 4, 2 ** 31 - 1)

/** A snapshot file that cannot be used; the file is left untouched. */
export class SnapshotError extends Error {
  override name = 'SnapshotError'
}

/** Serializes the sketch set. */
export function encodeSnapshot(sketches: NativeSketchSet, now = Date.now()): Buffer {
  const counters = sketches.lineCounts()
  const reasons = counters.invalid.length
  const head = Buffer.alloc(24 + 8 * (4 + reasons))
  MAGIC.copy(head, 0)
  head.writeUInt32LE(VERSION, 8)
  head.writeUInt32LE(reasons, 12)
  head.writeBigUInt64LE(BigInt(now), 16)
  const values = [counters.total, counters.counted, counters.skipped, counters.blank, ...counters.invalid]
  for (const [i, v] of values.entries()) head.writeBigUInt64LE(BigInt(v), 24 + 8 * i)
  // Version 3: after the 5xx users' hours and days, every user's (an empty section when not kept).
  const users = sketches.users()
  const section = users === null ? Buffer.alloc(0) : Buffer.concat(hoursAndDays(users))
  const sectionLength = Buffer.alloc(4)
  sectionLength.writeUInt32LE(section.length)
  const body = Buffer.concat([head, ...hoursAndDays(sketches), sectionLength, section])
  const sum = Buffer.alloc(4)
  sum.writeUInt32LE(crc32(body))
  return Buffer.concat([body, sum])
}

/** A sketch set's 24 dense hours, then the length of its day sketches and the day sketches. */
function hoursAndDays(sketches: NativeSketchSet): Buffer[] {
  const hours = Array.from({ length: HOURS }, (_, h) => sketches.exportHour(h))
  const days = sketches.dailyInfo() === null ? Buffer.alloc(0) : sketches.encodeDays()
  const daysLength = Buffer.alloc(4)
  daysLength.writeUInt32LE(days.length)
  return [...hours, daysLength, days]
}

/** Hours and days as a snapshot holds them. */
interface SnapshotSketches {
  hours: Buffer[]
  days: Buffer
}

/** Parses and checks a snapshot; throws {@link SnapshotError} naming what is wrong. */
export function decodeSnapshot(
  data: Buffer,
  file: string,
): SnapshotSketches & { counters: NativeLineCounts; users: SnapshotSketches | undefined; writtenAt: Date } {
  const bad = (what: string) => new SnapshotError(`snapshot ${file} ${what}; ${GUIDANCE}`)
  if (data.length < 24 || !data.subarray(0, 8).equals(MAGIC)) throw bad('is not a loghour snapshot (bad magic)')
  const version = data.readUInt32LE(8)
  if (version < 1 || version > VERSION) throw bad(`has format version ${version}; this loghour reads versions 1 to ${VERSION}`)
  const reasons = data.readUInt32LE(12)
  const u32 = (at: number) => (data.length >= at + 4 ? data.readUInt32LE(at) : 0)
  const daysAt = 24 + 8 * (4 + reasons) + HOURS * DENSE_SIZE
  const daysLength = version === 1 ? 0 : u32(daysAt)
  const usersAt = daysAt + (version === 1 ? 0 : 4 + daysLength)
  const usersLength = version < 3 ? 0 : u32(usersAt)
  const expected = usersAt + (version < 3 ? 0 : 4 + usersLength) + 4
  if (reasons > 64 || data.length !== expected) throw bad(`is truncated or padded (${data.length} bytes, expected ${expected})`)
  if (crc32(data.subarray(0, data.length - 4)) !== data.readUInt32LE(data.length - 4)) throw bad('is corrupt (checksum mismatch)')
  const u64 = (i: number) => Number(data.readBigUInt64LE(24 + 8 * i))
  const counters: NativeLineCounts = {
    total: u64(0),
    counted: u64(1),
    skipped: u64(2),
    blank: u64(3),
    invalid: Array.from({ length: reasons }, (_, i) => u64(4 + i)),
  }
  const sketchesAt = (start: number): SnapshotSketches => ({
    hours: Array.from({ length: HOURS }, (_, h) => data.subarray(start + h * DENSE_SIZE, start + (h + 1) * DENSE_SIZE)),
    days: data.subarray(start + HOURS * DENSE_SIZE + 4, start + HOURS * DENSE_SIZE + 4 + u32(start + HOURS * DENSE_SIZE)),
  })
  let users: SnapshotSketches | undefined
  if (usersLength > 0) {
    const start = usersAt + 4
    const inner = HOURS * DENSE_SIZE + 4 + u32(start + HOURS * DENSE_SIZE)
    if (usersLength < HOURS * DENSE_SIZE + 4 || inner !== usersLength) throw bad('has a malformed users section')
    users = sketchesAt(start)
  }
  const { hours, days } = sketchesAt(24 + 8 * (4 + reasons))
  return { counters, hours, days: version === 1 ? Buffer.alloc(0) : days, users, writtenAt: new Date(Number(data.readBigUInt64LE(16))) }
}

/**
 * Writes `data` to `file` atomically: a crash leaves either the old file or the new one. The
 * temporary file gets an unpredictable name and is created exclusively (`wx`: a file or symlink
 * planted there is never written through), and it is removed if anything fails (disk full, …).
 * Async, so a slow disk's fsync never stalls ingestion.
 */
export async function writeFileAtomic(file: string, data: Buffer): Promise<void> {
  const temp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`
  const handle = await open(temp, 'wx', 0o644)
  try {
    try {
      await handle.writeFile(data)
      await handle.sync()
    } finally {
      await handle.close()
    }
    await rename(temp, file)
  } catch (error) {
    await unlink(temp).catch(() => {})
    throw error
  }
  // Make the rename itself durable (not supported on every platform: best effort).
  try {
    const dir = await open(dirname(file), 'r')
    try {
      await dir.sync()
    } finally {
      await dir.close()
    }
  } catch {
    // directories cannot be opened or fsynced on this platform
  }
}

/**
 * Checks now, at start, that snapshots can be written to `file`: its directory accepts a new file
 * and `file` is not a directory. Throws {@link SnapshotError} naming the problem.
 */
export function checkSnapshotWritable(file: string): void {
  const probe = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`
  try {
    if (existsSync(file) && !statSync(file).isFile()) throw Object.assign(new Error(`${file} is not a regular file`), { code: 'EISDIR' })
    closeSync(openSync(probe, 'wx', 0o644))
    unlinkSync(probe)
  } catch (error) {
    throw new SnapshotError(`cannot write snapshot ${file}: ${(error as Error).message}`)
  }
}

/**
 * Restores a snapshot into an empty sketch set. A missing file means a first start (returns
 * false); any other problem throws. Per-day sketches are restored when the set keeps them (and
 * left out when it does not: `daily` was turned off).
 */
export function restoreSnapshot(file: string, sketches: NativeSketchSet): boolean {
  const data = readSnapshotFile(file)
  if (data === undefined) return false
  const { counters, hours, days, users } = decodeSnapshot(data, file)
  restoreSketches(file, sketches, { hours, days })
  // Every user's sketches when both the file and the set have them (a set without them: left out).
  const kept = sketches.users()
  if (users && kept) restoreSketches(file, kept, users)
  sketches.addLineCounts(counters)
  return true
}

/** Merges a snapshot's hours and days into a sketch set (its days only when it keeps days). */
function restoreSketches(file: string, sketches: NativeSketchSet, { hours, days }: SnapshotSketches): void {
  if (days.length > 0 && sketches.dailyInfo() !== null) {
    try {
      sketches.mergeEncodedDays(days)
    } catch (error) {
      throw new SnapshotError(`snapshot ${file} has ${(error as Error).message}; ${GUIDANCE}`)
    }
  }
  for (const [h, dense] of hours.entries()) {
    try {
      sketches.mergeHour(h, dense)
    } catch (error) {
      throw new SnapshotError(
        `snapshot ${file} holds a sketch that is not a Redis HyperLogLog (hour ${h}: ${(error as Error).message}); ${GUIDANCE}`,
      )
    }
  }
}

/**
 * The bytes of a snapshot file, or undefined when there is none. Only a regular file of at most
 * {@link MAX_SNAPSHOT_BYTES} is read: a device (`/dev/zero`) would be read until memory runs out,
 * a FIFO would wait for a writer (it is opened without blocking, then refused).
 */
function readSnapshotFile(file: string): Buffer | undefined {
  let fd: number
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new SnapshotError(`cannot read snapshot ${file}: ${(error as Error).message}`)
  }
  try {
    const stat = fstatSync(fd)
    if (!stat.isFile()) throw new SnapshotError(`snapshot ${file} is not a regular file; ${GUIDANCE}`)
    if (stat.size > MAX_SNAPSHOT_BYTES) {
      throw new SnapshotError(
        `snapshot ${file} is larger than any snapshot (${stat.size} bytes, at most ${MAX_SNAPSHOT_BYTES}); ${GUIDANCE}`,
      )
    }
    return readFileSync(fd)
  } catch (error) {
    if (error instanceof SnapshotError) throw error
    throw new SnapshotError(`cannot read snapshot ${file}: ${(error as Error).message}`)
  } finally {
    closeSync(fd)
  }
}
