// Bad input is normal input: a gigabyte of garbage through write() never throws and keeps the
// process's memory bounded (oversize lines are skipped, never buffered).
import { randomFillSync } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { createConsumer, type LogConsumer } from '../src/index.js'

const MiB = 1024 * 1024

function garbageChunks(): Buffer[] {
  const random = randomFillSync(Buffer.alloc(MiB))
  const noNewline = Buffer.alloc(MiB, 'x')
  const deep = Buffer.from(`${`{"a":${'['.repeat(30_000)}\n`.repeat(Math.floor(MiB / 30_006))}`)
  const almostRecords = Buffer.from(
    `${'{"time":"2019-05-06 17:00:00","ip":"\xff\xfe","status_code":500}\n{"time":"2019-02-30 10:00:00","ip":"a","status_code":5e2}\n\0\0{"'.repeat(MiB / 128)}`,
    'latin1',
  )
  const hugeString = Buffer.concat([Buffer.from('{"ip":"'), Buffer.alloc(MiB - 7, 'a')])
  return [random, noNewline, deep, almostRecords, hugeString]
}

/**
 * Writes the chunks in turn, each cut to a varied size so lines split at every kind of boundary,
 * until `total` bytes went in; returns the most bytes the consumer held buffered after a write.
 * `each` runs after every write.
 */
function writeVaried(consumer: LogConsumer, chunks: Buffer[], total: number, each: (i: number) => void = () => {}): number {
  let maxBuffered = 0
  let sizes = 1
  for (let written = 0, i = 0; written < total; i++) {
    const chunk = chunks[i % chunks.length]!
    sizes = (sizes * 7919 + 13) % MiB
    const size = Math.min(chunk.length, sizes + 1)
    consumer.write(chunk.subarray(0, size))
    // Lines are counted within write(): what stays buffered is at most one line's limit.
    maxBuffered = Math.max(maxBuffered, consumer.bufferedBytes)
    written += size
    each(i)
  }
  return maxBuffered
}

describe('a gigabyte of garbage', () => {
  it('never throws, counts every line by reason, and keeps RSS bounded', async () => {
    // The JSON rule's reasons (format auto would read such garbage by whichever reading fits).
    const consumer = createConsumer({ format: 'json' })
    const chunks = garbageChunks()
    // Warm up (code paths, allocator pools) before taking the baseline.
    for (const c of chunks) consumer.write(c)
    global.gc?.()
    const baseline = process.memoryUsage.rss()
    let peak = baseline
    // First a 256 MiB line with no newline at all: an implementation that buffered it would
    // blow the bound. Then the mix, in varied sizes.
    for (let written = 0; written < 256 * MiB; written += MiB) consumer.write(chunks[1]!)
    peak = Math.max(peak, process.memoryUsage.rss())
    const maxBuffered = writeVaried(consumer, chunks, 768 * MiB, (i) => {
      if (i % 64 === 0) peak = Math.max(peak, process.memoryUsage.rss())
    })
    await consumer.close()
    expect(maxBuffered).toBeLessThanOrEqual(65536)
    expect(maxBuffered).toBeGreaterThan(0)
    peak = Math.max(peak, process.memoryUsage.rss())
    const stats = await consumer.stats()
    expect(stats.lines.total).toBeGreaterThan(1_000_000)
    expect(stats.lines.counted).toBe(0)
    expect(stats.invalid.tooLong).toBeGreaterThan(100)
    expect(stats.invalid.utf8).toBeGreaterThan(1000)
    expect(stats.invalid.badTime).toBeGreaterThan(1000)
    expect(stats.invalid.json).toBeGreaterThan(1000)
    expect(stats.lines.total).toBe(stats.lines.counted + stats.lines.skipped + stats.lines.invalid)
    const growthMiB = (peak - baseline) / MiB
    console.log(`1 GiB of garbage: RSS grew ${growthMiB.toFixed(1)} MiB over ${(baseline / MiB).toFixed(0)} MiB`)
    expect(growthMiB, `RSS grew ${growthMiB.toFixed(1)} MiB`).toBeLessThan(48)
  })
})

describe('garbage through every reading (json-stream framing, envelopes, zones)', () => {
  it('never throws, counts by reason, buffers at most one record', async () => {
    const consumer = createConsumer({ framing: 'json-stream', schema: 'ecs', envelope: 'message', timezone: 'Europe/Berlin' })
    const neverCloses = Buffer.concat([Buffer.from('{"message":"'), Buffer.alloc(MiB, 'x')])
    const deep = Buffer.from('['.repeat(MiB))
    const records = Buffer.from(
      '{"message":"{\\"@timestamp\\":1e999,\\"source\\":{\\"ip\\":\\"a\\"}}"} "x" 12 {"message":5}{"message":"\\ud800"}'.repeat(MiB / 128),
    )
    const chunks = [randomFillSync(Buffer.alloc(MiB)), neverCloses, deep, records]
    const maxBuffered = writeVaried(consumer, chunks, 256 * MiB)
    await consumer.close()
    expect(maxBuffered).toBeLessThanOrEqual(65536)
    const stats = await consumer.stats()
    expect(stats.lines.counted).toBe(0)
    expect(stats.invalid.tooLong).toBeGreaterThan(10)
    expect(stats.invalid.json + stats.invalid.notObject + stats.invalid.wrongType + stats.invalid.utf8).toBeGreaterThan(1000)
    expect(stats.lines.total).toBe(stats.lines.counted + stats.lines.skipped + stats.lines.invalid)
  })
})
