// Differential property tests of every way of reading logs (schemas, dotted paths, string
// statuses, time forms and zones, envelopes, framing): the native core against the model, which
// converts zones with Intl and shares no code with the core, in random chunk splits.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createConsumer, createScanner, INVALID_REASONS } from '../src/index.js'
import { cuts, splitAt } from './helpers/arbitraries.js'
import { denseRegisters, registersOf } from './helpers/hll.js'
import { modelStream } from './helpers/model.js'
import { murmur64a } from './helpers/murmur.js'
import { anyReading, anyReadingStream } from './helpers/readings.js'

const readingAndStream = anyReading.chain((reading) => fc.tuple(fc.constant(reading), anyReadingStream(reading.rule)))

const limits = fc.oneof({ weight: 4, arbitrary: fc.constant(65536) }, { weight: 1, arbitrary: fc.integer({ min: 64, max: 300 }) })

describe('native core = model, for every reading', () => {
  it('scanner: same counters and the same counted (hour, element) sequence', () => {
    fc.assert(
      fc.property(readingAndStream, cuts, limits, ([reading, stream], cutPoints, maxLineBytes) => {
        const model = modelStream(stream, maxLineBytes, INVALID_REASONS, reading.rule)
        const scanner = createScanner({ maxLineBytes, ...reading.options })
        const got: string[] = []
        const collect = ({ hours, hashes }: { hours: Uint8Array; hashes: BigUint64Array }) => {
          for (const [i, h] of hours.entries()) got.push(`${h}:${hashes[i]!.toString(16)}`)
        }
        for (const piece of splitAt(stream, cutPoints)) collect(scanner.scan(piece))
        collect(scanner.end())
        expect(got).toEqual(model.counted.map(({ hour, element }) => `${hour}:${murmur64a(element).toString(16)}`))
        expect(scanner.lineCounts()).toEqual({ lines: model.lines, invalid: model.invalid })
      }),
      { numRuns: 1500 },
    )
  })

  it('consumer: the registers of the model elements, hour by hour', async () => {
    await fc.assert(
      fc.asyncProperty(readingAndStream, cuts, async ([reading, stream], cutPoints) => {
        const model = modelStream(stream, 65536, INVALID_REASONS, reading.rule)
        const consumer = createConsumer(reading.options)
        for (const piece of splitAt(stream, cutPoints)) consumer.write(piece)
        await consumer.close()
        for (let hour = 0; hour < 24; hour++) {
          const want = Buffer.from(registersOf(model.counted.filter((c) => c.hour === hour).map((c) => murmur64a(c.element))))
          expect(Buffer.from(denseRegisters(consumer.exportHour(hour))).equals(want), `hour ${hour}`).toBe(true)
        }
      }),
      { numRuns: 100 },
    )
  })

  it('covers every outcome, zone and time form (the generators are not degenerate)', () => {
    const seen = new Map<string, number>()
    const add = (key: string, n: number) => seen.set(key, (seen.get(key) ?? 0) + n)
    for (const [reading, stream] of fc.sample(readingAndStream, { numRuns: 400, seed: 7 })) {
      const model = modelStream(stream, 65536, INVALID_REASONS, reading.rule)
      for (const [reason, n] of Object.entries(model.invalid)) add(reason, n)
      for (const kind of ['counted', 'skipped'] as const) add(kind, model.lines[kind])
      const r = reading.rule
      if (r.timezone) add(r.sourceTimezone ? 'zone and source zone' : 'zone', model.lines.counted)
      if (r.framing === 'json-stream') add('json-stream', model.lines.counted)
      if (r.envelope) add(r.format === 'clf' ? 'clf envelope' : 'json envelope', model.lines.counted)
      if (r.strict) add('strict', model.lines.counted)
      if (!r.strict && r.format === 'json') add('lenient json', model.lines.counted)
    }
    // (tooLong and notObject are the line rule's, covered by test/contract.test.ts.)
    const reasons = INVALID_REASONS.filter((r) => r !== 'tooLong' && r !== 'notObject')
    for (const key of [
      ...reasons,
      'counted',
      'skipped',
      'zone',
      'zone and source zone',
      'json-stream',
      'clf envelope',
      'json envelope',
      'strict',
      'lenient json',
    ]) {
      expect(seen.get(key), key).toBeGreaterThan(3)
    }
  })
})
