// The original service's own test (design §1), and the golden hash vectors through the JS API.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { createConsumer, createScanner, elementHash } from '../src/index.js'
import { indexAndRank } from './helpers/hll.js'

const reference = readFileSync(join(__dirname, 'fixtures/reference-12.log'))
const vectors = JSON.parse(readFileSync(join(__dirname, 'fixtures/redis-hll-vectors.json'), 'utf8'))

function expectReferenceAnswer(hours: number[]): void {
  expect(hours).toEqual(Array.from({ length: 24 }, (_, h) => (h === 16 ? 1 : h === 17 ? 4 : 0)))
}

describe('reference case: hour 16 -> 1, hour 17 -> 4, others 0', () => {
  it('in one write', async () => {
    const consumer = createConsumer()
    consumer.write(reference)
    const stats = await consumer.stats()
    expectReferenceAnswer(stats.hours)
    expect(stats.peakHour).toBe(17)
    expect(stats.peakUsers).toBe(4)
    expect(stats.lines).toEqual({ total: 12, counted: 6, skipped: 6, invalid: 0, blank: 0 })
  })

  it('one byte at a time, as strings, without the final newline', async () => {
    const consumer = createConsumer()
    const text = reference.toString('utf8').trimEnd()
    for (const ch of text) consumer.write(ch)
    // The last line has no \n yet: it counts once the stream ends.
    expect((await consumer.stats()).lines.total).toBe(11)
    await consumer.close()
    expectReferenceAnswer((await consumer.stats()).hours)
  })

  it('piped as a Writable', async () => {
    const { Readable } = await import('node:stream')
    const { pipeline } = await import('node:stream/promises')
    const consumer = createConsumer()
    await pipeline(Readable.from([reference.subarray(0, 100), reference.subarray(100)]), consumer)
    expectReferenceAnswer((await consumer.stats()).hours)
  })

  it('separate inputs never join their lines', async () => {
    const consumer = createConsumer()
    const a = consumer.openStream()
    const b = consumer.openStream()
    const half = reference.indexOf('\n', 300)
    a.write(reference.subarray(0, half - 10)) // a's last line is cut short…
    b.write(reference.subarray(half - 10)) // …and b starts mid-line: both fragments are invalid JSON
    a.end()
    b.end()
    const stats = await consumer.stats()
    expect(stats.invalid.json).toBe(2)
    expect(stats.lines.total).toBe(13)
  })
})

describe('golden vectors from redis-server 7.0.15', () => {
  it('elementHash, register index and rank of every vector', () => {
    expect(vectors.vectors.length).toBe(57)
    for (const v of vectors.vectors) {
      const hash = elementHash(Buffer.from(v.element_hex, 'hex'))
      expect(hash.toString(16).padStart(16, '0')).toBe(v.hash_hex)
      expect(indexAndRank(hash)).toEqual({ index: v.index, rank: v.rank })
    }
    expect(elementHash('2019-05-06 17_10.0.121.67')).toBe(0xbf6676378b7437fcn)
  })

  it('a counted line yields the hash of its element', () => {
    const scanner = createScanner()
    const { hours } = scanner.scan('{"time":"2019-05-06 17:25:54","ip":"10.0.121.67","status_code":500}')
    expect(hours.length).toBe(0) // not terminated yet
    const last = scanner.end()
    expect([...last.hours]).toEqual([17])
    expect(last.hashes[0]).toBe(0xbf6676378b7437fcn)
  })
})
