// Differential property tests: the native core against the JSON.parse model of the contract,
// on random mixes of valid and broken lines fed in random chunk splits.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createConsumer, createScanner, INVALID_REASONS } from '../src/index.js'
import { anyClfStream, anyStream, cuts, splitAt } from './helpers/arbitraries.js'
import { denseRegisters, registersOf } from './helpers/hll.js'
import { modelStream } from './helpers/model.js'
import { murmur64a } from './helpers/murmur.js'

// Mostly the default limit; sometimes a small one so that oversize lines and their splits occur.
const limits = fc.oneof({ weight: 3, arbitrary: fc.constant(65536) }, { weight: 1, arbitrary: fc.integer({ min: 64, max: 400 }) })

describe('native core = JSON.parse model', () => {
  it('scanner: same counters, same counted (hour, element hash) sequence', () => {
    fc.assert(
      fc.property(anyStream, cuts, limits, (stream, cutPoints, maxLineBytes) => {
        const model = modelStream(stream, maxLineBytes, INVALID_REASONS)
        const scanner = createScanner({ maxLineBytes, format: 'json' })
        const got: string[] = []
        const collect = ({ hours, hashes }: { hours: Uint8Array; hashes: BigUint64Array }) => {
          for (const [i, h] of hours.entries()) got.push(`${h}:${hashes[i]!.toString(16)}`)
        }
        for (const piece of splitAt(stream, cutPoints)) collect(scanner.scan(piece))
        collect(scanner.end())
        const want = model.counted.map(({ hour, element }) => `${hour}:${murmur64a(element).toString(16)}`)
        expect(got).toEqual(want)
        expect(scanner.lineCounts()).toEqual({ lines: model.lines, invalid: model.invalid })
      }),
      { numRuns: 400 },
    )
  })

  it('consumer: same counters and, hour by hour, the registers of the model elements', async () => {
    await fc.assert(
      fc.asyncProperty(anyStream, cuts, limits, async (stream, cutPoints, maxLineBytes) => {
        const model = modelStream(stream, maxLineBytes, INVALID_REASONS)
        const consumer = createConsumer({ maxLineBytes, format: 'json' })
        for (const piece of splitAt(stream, cutPoints)) consumer.write(piece)
        await consumer.close()
        const stats = await consumer.stats()
        expect({ lines: stats.lines, invalid: stats.invalid }).toEqual({ lines: model.lines, invalid: model.invalid })
        for (let hour = 0; hour < 24; hour++) {
          const hashes = model.counted.filter((c) => c.hour === hour).map((c) => murmur64a(c.element))
          const got = Buffer.from(denseRegisters(consumer.exportHour(hour)))
          const want = Buffer.from(registersOf(hashes))
          // Typed-array deep equality is slow in vitest: compare bytes, report the first difference.
          expect(got.equals(want), `hour ${hour} register ${got.findIndex((r, i) => r !== want[i])}`).toBe(true)
          if (hashes.length === 0) expect(stats.hours[hour]).toBe(0)
        }
      }),
      { numRuns: 150 },
    )
  })

  it('covers every outcome (the generators are not degenerate)', () => {
    const seen = new Map<string, number>()
    fc.sample(anyStream, { numRuns: 300, seed: 42 }).forEach((stream) => {
      const model = modelStream(stream, 65536, INVALID_REASONS)
      for (const [reason, n] of Object.entries(model.invalid)) seen.set(reason, (seen.get(reason) ?? 0) + n)
      seen.set('tooLong', (seen.get('tooLong') ?? 0) + modelStream(stream, 200, INVALID_REASONS).invalid.tooLong!)
      seen.set('counted', (seen.get('counted') ?? 0) + model.lines.counted)
      seen.set('skipped', (seen.get('skipped') ?? 0) + model.lines.skipped)
      seen.set('blank', (seen.get('blank') ?? 0) + model.lines.blank)
    })
    const jsonReasons = INVALID_REASONS.filter((r) => r !== 'clf')
    for (const key of [...jsonReasons, 'counted', 'skipped', 'blank']) expect(seen.get(key), key).toBeGreaterThan(5)
    expect(seen.get('clf'), 'the JSON format never says clf').toBe(0)
  })
})

describe('native core = model, Common and Combined lines (format clf)', () => {
  it('scanner and consumer: same counters, same counted sequence, same registers', async () => {
    await fc.assert(
      fc.asyncProperty(anyClfStream, cuts, limits, async (stream, cutPoints, maxLineBytes) => {
        const model = modelStream(stream, maxLineBytes, INVALID_REASONS, { format: 'clf' })
        const scanner = createScanner({ maxLineBytes, format: 'clf' })
        const consumer = createConsumer({ maxLineBytes, format: 'clf' })
        const got: string[] = []
        const collect = ({ hours, hashes }: { hours: Uint8Array; hashes: BigUint64Array }) => {
          for (const [i, h] of hours.entries()) got.push(`${h}:${hashes[i]!.toString(16)}`)
        }
        for (const piece of splitAt(stream, cutPoints)) {
          collect(scanner.scan(piece))
          consumer.write(piece)
        }
        collect(scanner.end())
        await consumer.close()
        expect(got).toEqual(model.counted.map(({ hour, element }) => `${hour}:${murmur64a(element).toString(16)}`))
        expect(scanner.lineCounts()).toEqual({ lines: model.lines, invalid: model.invalid })
        const stats = await consumer.stats()
        expect({ lines: stats.lines, invalid: stats.invalid }).toEqual({ lines: model.lines, invalid: model.invalid })
        for (let hour = 0; hour < 24; hour++) {
          const want = Buffer.from(registersOf(model.counted.filter((c) => c.hour === hour).map((c) => murmur64a(c.element))))
          expect(Buffer.from(denseRegisters(consumer.exportHour(hour))).equals(want), `hour ${hour}`).toBe(true)
        }
      }),
      { numRuns: 200 },
    )
  })

  it('covers every outcome a Common or Combined line can have', () => {
    const seen = new Map<string, number>()
    for (const stream of fc.sample(anyClfStream, { numRuns: 300, seed: 42 })) {
      const model = modelStream(stream, 65536, INVALID_REASONS, { format: 'clf' })
      for (const [reason, n] of Object.entries(model.invalid)) seen.set(reason, (seen.get(reason) ?? 0) + n)
      for (const kind of ['counted', 'skipped', 'blank'] as const) seen.set(kind, (seen.get(kind) ?? 0) + model.lines[kind])
    }
    for (const key of ['clf', 'badTime', 'utf8', 'counted', 'skipped']) expect(seen.get(key), key).toBeGreaterThan(5)
  })
})
