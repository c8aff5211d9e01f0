// The memory store's snapshot: a round trip keeps every count; a damaged file is a clear error and
// is never replaced.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { createConsumer, demoLines, SnapshotError } from '../src/index.js'
import { startServer } from './helpers/server.js'

const reference = readFileSync(join(__dirname, 'fixtures/reference-12.log'))
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

describe('snapshot file', () => {
  it('round trip: registers and counters come back, and later lines add to them', async () => {
    const file = join(dir(), 'counts.snap')
    const data = Buffer.concat([demoLines(1, 1, 50_000), Buffer.from('garbage\n\n')])
    const first = await consumerWith(file, data)
    const restored = createConsumer({ snapshot: file })
    expect(await restored.stats()).toEqual(await first.stats())
    for (let h = 0; h < 24; h++) expect(restored.exportHour(h).equals(first.exportHour(h))).toBe(true)
    restored.write(demoLines(1, 50_001, 50_000))
    await restored.close()
    const whole = createConsumer()
    whole.write(Buffer.concat([data, demoLines(1, 50_001, 50_000)]))
    const again = createConsumer({ snapshot: file })
    expect(await again.stats()).toEqual(await whole.stats())
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
    expectSnapshotError(file, /is truncated or padded \(295312 bytes, expected 295412\); it was left untouched/)

    const flipped = Buffer.from(good)
    flipped[1000] ^= 0x40
    writeFileSync(file, flipped)
    expectSnapshotError(file, /is corrupt \(checksum mismatch\)/)

    writeFileSync(file, Buffer.from('not a snapshot at all, just some text\n'))
    expectSnapshotError(file, /is not a loghour snapshot \(bad magic\)/)

    const future = Buffer.from(good)
    future.writeUInt32LE(2, 8)
    writeFileSync(file, future)
    expectSnapshotError(file, /has format version 2; this loghour reads version 1/)
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
})
