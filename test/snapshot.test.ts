// The memory store's snapshot: a round trip keeps every count; a damaged file is a clear error and
// is never replaced.
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { crc32 } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { createConsumer, demoLines, type LogConsumer, SnapshotError, type Stats } from '../src/index.js'
import { decodeSnapshot } from '../src/stores/snapshot.js'
import { run } from './helpers/cli.js'
import { cleanEnv, startServer } from './helpers/server.js'

const reference = readFileSync(join(__dirname, 'fixtures/reference-12.log'))

/** Runs `body` with a fresh tmpfs of these mount options, unmounted after. */
async function withTmpfs(options: string, body: (dir: string) => Promise<void>): Promise<void> {
  const at = mkdtempSync(join(tmpdir(), 'loghour-tmpfs-'))
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', at], { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`mount failed: ${r.stderr}`)
  try {
    await body(at)
  } finally {
    spawnSync('umount', [at])
  }
}

/** Real full and read-only disks need a tmpfs mount: root (as in CI), else those tests are skipped. */
const canMount = (() => {
  const at = mkdtempSync(join(tmpdir(), 'loghour-tmpfs-'))
  const ok = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=4k', 'tmpfs', at]).status === 0
  if (ok) spawnSync('umount', [at])
  if (!ok) console.warn('snapshot tests on a full or read-only disk skipped: mounting a tmpfs needs root')
  return ok
})()
const dir = () => mkdtempSync(join(tmpdir(), 'loghour-snap-'))

async function consumerWith(file: string, data: Buffer) {
  const consumer = createConsumer({ snapshot: file })
  consumer.write(data)
  await consumer.close()
  return consumer
}

function expectSnapshotError(file: string, pattern: RegExp): void {
  const before = readFileSync(file)
  expect(() => createConsumer({ snapshot: file })).toThrow(SnapshotError)
  expect(() => createConsumer({ snapshot: file })).toThrow(pattern)
  expect(readFileSync(file).equals(before)).toBe(true) // untouched
}

/** What a snapshot keeps: the stats without the process's own stream readings. */
async function kept(consumer: LogConsumer): Promise<Omit<Stats, 'streams'>> {
  const { streams: _, ...rest } = await consumer.stats()
  return rest
}

describe('snapshot file', () => {
  it('a snapshot written before the last reason was added (clf) restores, that reason at 0', async () => {
    const file = join(dir(), 'old.snap')
    const first = await consumerWith(file, Buffer.concat([demoLines(1, 1, 20_000), Buffer.from('garbage\n')]))
    // The same file as a loghour with one reason fewer wrote it: R - 1 reasons, the last one dropped.
    const data = readFileSync(file)
    const reasons = data.readUInt32LE(12)
    const lastReason = 24 + 8 * (4 + reasons - 1)
    const old = Buffer.concat([data.subarray(0, lastReason), data.subarray(lastReason + 8, data.length - 4)])
    old.writeUInt32LE(reasons - 1, 12)
    const sum = Buffer.alloc(4)
    sum.writeUInt32LE(crc32(old))
    writeFileSync(file, Buffer.concat([old, sum]))
    const restored = createConsumer({ snapshot: file })
    expect(await kept(restored)).toEqual(await kept(first))
    expect((await restored.stats()).invalid.clf).toBe(0)
    await restored.close()
  })

  it('round trip: registers and counters come back, and later lines add to them', async () => {
    const file = join(dir(), 'counts.snap')
    const data = Buffer.concat([demoLines(1, 1, 50_000), Buffer.from('garbage\n\n')])
    const first = await consumerWith(file, data)
    const restored = createConsumer({ snapshot: file })
    expect(await kept(restored)).toEqual(await kept(first))
    for (let h = 0; h < 24; h++) expect(restored.exportHour(h).equals(first.exportHour(h))).toBe(true)
    restored.write(demoLines(1, 50_001, 50_000))
    await restored.close()
    const whole = createConsumer()
    whole.write(Buffer.concat([data, demoLines(1, 50_001, 50_000)]))
    const again = createConsumer({ snapshot: file })
    expect(await kept(again)).toEqual(await kept(whole))
  })

  it('a missing file is a first start', async () => {
    const consumer = createConsumer({ snapshot: join(dir(), 'new.snap') })
    expect((await consumer.stats()).lines.total).toBe(0)
  })

  it('truncated, corrupted, foreign or future files are refused and left untouched', async () => {
    const file = join(dir(), 'c.snap')
    await consumerWith(file, reference)
    const good = readFileSync(file)

    writeFileSync(file, good.subarray(0, good.length - 100))
    expectSnapshotError(file, /is truncated or padded \(295328 bytes, expected 295428\); it was left untouched/)

    const flipped = Buffer.from(good)
    flipped[1000] ^= 0x40
    writeFileSync(file, flipped)
    expectSnapshotError(file, /is corrupt \(checksum mismatch\)/)

    writeFileSync(file, Buffer.from('not a snapshot at all, just some text\n'))
    expectSnapshotError(file, /is not a loghour snapshot \(bad magic\)/)

    const future = Buffer.from(good)
    future.writeUInt32LE(4, 8)
    writeFileSync(file, future)
    expectSnapshotError(file, /has format version 4; this loghour reads versions 1 to 3/)

    // A valid checksum over a sketch that is not a Redis HLL: the file and the guidance are named.
    const badHeader = Buffer.from(good)
    const hour0 = 24 + 8 * (4 + badHeader.readUInt32LE(12))
    badHeader.write('XXXX', hour0, 'latin1')
    badHeader.writeUInt32LE(crc32(badHeader.subarray(0, badHeader.length - 4)), badHeader.length - 4)
    writeFileSync(file, badHeader)
    expectSnapshotError(
      file,
      new RegExp(
        `^snapshot ${file} holds a sketch that is not a Redis HyperLogLog \\(hour 0: .*\\); it was left untouched \\(move it away to start empty, or restore a backup\\)$`,
      ),
    )
  })

  it('a device, a FIFO or a file larger than the format allows is refused without reading it', () => {
    expect(() => createConsumer({ snapshot: '/dev/zero' })).toThrow(
      /^snapshot \/dev\/zero is not a regular file; it was left untouched \(move it away to start empty, or restore a backup\)$/,
    )
    const fifo = join(dir(), 'fifo.snap')
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0)
    expect(() => createConsumer({ snapshot: fifo })).toThrow(/is not a regular file/) // opening it would wait for a writer
    const huge = join(dir(), 'huge.snap')
    writeFileSync(huge, 'LGHRSNAP')
    truncateSync(huge, 2 ** 31) // sparse: costs no disk
    expect(() => createConsumer({ snapshot: huge })).toThrow(/is larger than any snapshot \(2147483648 bytes, at most \d+\)/)
  })

  it('loghour-server restores it at start and saves it at exit; a corrupt one stops it with exit 1', async () => {
    const file = join(dir(), 'server.snap')
    const first = await startServer(['--snapshot', file, '--stats-interval', '0'])
    const { sendTcp } = await import('./helpers/server.js')
    await sendTcp(first.port, reference)
    expect(await first.stop()).toBe(0)
    const second = await startServer(['--stats-interval', '0'], { LOGHOUR_SNAPSHOT: file })
    expect(await second.stop()).toBe(0)
    expect(second.lastHours()).toEqual(Array.from({ length: 24 }, (_, h) => (h === 16 ? 1 : h === 17 ? 4 : 0)))

    const bytes = readFileSync(file)
    bytes[bytes.length - 1] ^= 1
    writeFileSync(file, bytes)
    const error = await startServer(['--snapshot', file]).then(
      () => null,
      (e: Error) => e.message,
    )
    expect(error).toMatch(/exited \(1\) before listening: loghour-server: snapshot .*server\.snap is corrupt \(checksum mismatch\)/)
    expect(readFileSync(file).equals(bytes)).toBe(true)
  })

  it('a symlink planted where a temporary file could go is never written through, and no temporary file stays', async () => {
    const d = dir()
    const file = join(d, 'counts.snap')
    const victim = join(d, 'victim.txt')
    writeFileSync(victim, 'do not touch')
    // The name the temporary file used to have (predictable from the pid), and a few guesses.
    for (const name of [`${file}.${process.pid}.tmp`, `${file}.tmp`, `${file}.${process.pid}.000000000000.tmp`]) symlinkSync(victim, name)
    const consumer = await consumerWith(file, reference)
    expect(readFileSync(victim, 'utf8')).toBe('do not touch')
    expect((await createConsumer({ snapshot: file }).stats()).hours).toEqual((await consumer.stats()).hours)
    // Nothing but the snapshot, the victim and the planted links.
    expect(readdirSync(d).sort()).toEqual(
      [
        'counts.snap',
        `counts.snap.${process.pid}.tmp`,
        'counts.snap.tmp',
        `counts.snap.${process.pid}.000000000000.tmp`,
        'victim.txt',
      ].sort(),
    )
  })

  it('an unusable snapshot path is an error at start, not at exit', async () => {
    const d = dir()
    mkdirSync(join(d, 'a-directory.snap'))
    expect(() => createConsumer({ snapshot: join(d, 'a-directory.snap') })).toThrow(/snapshot .*a-directory\.snap is not a regular file/)
    writeFileSync(join(d, 'plain-file'), 'x')
    expect(() => createConsumer({ snapshot: join(d, 'plain-file', 'x.snap') })).toThrow(SnapshotError)
    const r = await run('loghour-server.js', ['--port', '0', '--snapshot', join(d, 'plain-file', 'x.snap')], undefined, { env: cleanEnv() })
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^loghour-server: cannot (read|write) snapshot .*plain-file\/x\.snap: ENOTDIR: not a directory, open .*\n$/)
  })

  it.skipIf(!canMount)('a read-only file system: refused at start (before, only the save at exit failed)', async () => {
    await withTmpfs('size=64k,ro', async (at) => {
      expect(() => createConsumer({ snapshot: join(at, 'counts.snap') })).toThrow(/^cannot write snapshot .*counts\.snap: EROFS/)
      const r = await run('loghour-server.js', ['--port', '0', '--snapshot', join(at, 'counts.snap')], undefined, { env: cleanEnv() })
      expect(r.code).toBe(1)
      expect(r.stderr).toMatch(/^loghour-server: cannot write snapshot .*counts\.snap: EROFS: read-only file system/)
    })
  })

  it.skipIf(!canMount)(
    'disk full (a 400 KiB tmpfs): the flush fails with ENOSPC, the last snapshot stays intact, no temporary file is left',
    async () => {
      await withTmpfs('size=400k', async (mounted) => {
        const file = join(mounted, 'counts.snap')
        const consumer = createConsumer({ snapshot: file, flushIntervalMs: 60_000 })
        consumer.write(reference)
        await consumer.flush() // 295 KB: fits
        const saved = readFileSync(file)
        consumer.write(demoLines(1, 1, 1000))
        await expect(consumer.flush()).rejects.toThrow(/cannot write snapshot .*ENOSPC/) // a second copy does not
        expect(readdirSync(mounted)).toEqual(['counts.snap'])
        expect(readFileSync(file).equals(saved)).toBe(true)
        expect(decodeSnapshot(saved, file).counters.total).toBe(12)
      })
    },
  )
})
