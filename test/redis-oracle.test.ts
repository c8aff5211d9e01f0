// The core against a real redis-server: PFADD of the model's elements gives, hour by hour, the
// PFCOUNT that stats() reports, and the dense value GET returns equals the core's export.
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createConsumer, demoLines, INVALID_REASONS, type LogConsumer } from '../src/index.js'
import { anyLine, splitAt } from './helpers/arbitraries.js'
import { type ModelResult, modelStream } from './helpers/model.js'
import { type RedisServer, skipRedis, startRedis } from './helpers/redis.js'

const LINES = 250_000

/** Pattern-1 demo lines with random garbage lines spliced in every ~20 lines. */
function demoWithGarbage(): Buffer {
  const demo = demoLines(1, 1, LINES)
  const garbage = fc.sample(anyLine, { numRuns: LINES / 20, seed: 7 })
  const parts: Buffer[] = []
  let start = 0
  for (const g of garbage) {
    const end = demo.indexOf(0x0a, start + 20 * 60)
    if (end < 0) break
    parts.push(demo.subarray(start, end + 1), g, Buffer.from('\n'))
    start = end + 1
  }
  parts.push(demo.subarray(start))
  return Buffer.concat(parts)
}

describe.skipIf(skipRedis())('against redis-server', () => {
  let redis: RedisServer
  let stream: Buffer
  let model: ModelResult
  let consumer: LogConsumer

  beforeAll(async () => {
    redis = await startRedis()
    stream = demoWithGarbage()
    model = modelStream(stream, 65536, INVALID_REASONS)
    consumer = createConsumer()
    const cuts = fc.sample(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { numRuns: 400, seed: 3 })
    for (const piece of splitAt(stream, cuts)) consumer.write(piece)
    await consumer.close()
  })

  afterAll(async () => {
    await redis?.stop()
  })

  it('sees the expected mix of lines', async () => {
    const stats = await consumer.stats()
    expect(stats.lines).toEqual(model.lines)
    expect(stats.invalid).toEqual(model.invalid)
    expect(model.lines.counted).toBeGreaterThan(40_000)
    expect(model.lines.invalid).toBeGreaterThan(1000)
  })

  it('PFCOUNT of PFADDed model elements equals stats().hours, and dense GET equals exportHour', async () => {
    const client = redis.client()
    await client.config('SET', 'hll-sparse-max-bytes', '0')
    const byHour = Array.from({ length: 24 }, () => [] as Buffer[])
    for (const { hour, element } of model.counted) byHour[hour]!.push(element)
    for (let hour = 0; hour < 24; hour++) {
      const elements = byHour[hour]!
      for (let i = 0; i < elements.length; i += 5000) await client.pfadd(`oracle_${hour}`, ...elements.slice(i, i + 5000))
    }
    const stats = await consumer.stats()
    for (let hour = 0; hour < 24; hour++) {
      if (byHour[hour]!.length > 0) {
        // GET before any PFCOUNT: the whole value, header included, must be identical.
        const dense = await client.getBuffer(`oracle_${hour}`)
        expect(dense?.length).toBe(12304)
        expect(dense!.equals(consumer.exportHour(hour)), `hour ${hour} dense value`).toBe(true)
      }
      expect(await client.pfcount(`oracle_${hour}`), `hour ${hour}`).toBe(stats.hours[hour])
    }
    expect(stats.hours.filter((n) => n > 0)).toHaveLength(24)
  })

  it('an exported sketch SET and PFMERGEd into a PFADDed key gives PFADD of the union', async () => {
    const client = redis.client()
    await client.config('SET', 'hll-sparse-max-bytes', '3000')
    const hour = 17
    const elements = model.counted.filter((c) => c.hour === hour).map((c) => c.element)
    const half = elements.length >> 1
    await client.pfadd('merge_target', ...elements.slice(0, 100)) // sparse target
    const local = createConsumer()
    local.write(
      Buffer.concat(
        model.counted
          .filter((c) => c.hour === hour)
          .slice(half)
          .map((c) => lineFor(c.element)),
      ),
    )
    await local.close()
    await client.set('{merge_target}:delta', local.exportHour(hour))
    await client.pfmerge('merge_target', '{merge_target}:delta')
    for (let i = 100; i < half; i += 5000) await client.pfadd('merge_target', ...elements.slice(i, Math.min(half, i + 5000)))
    // The same elements PFADDed into a key of this test's own.
    for (let i = 0; i < elements.length; i += 5000) await client.pfadd('merge_union', ...elements.slice(i, i + 5000))
    expect(await client.pfcount('merge_target')).toBe(await client.pfcount('merge_union'))
  })
})

/** A counted line whose element is `element` ("YYYY-MM-DD HH_<ip>", on a working day). */
function lineFor(element: Buffer): Buffer {
  const text = element.toString('utf8')
  const date = text.slice(0, 10)
  const hour = text.slice(11, 13)
  const ip = text.slice(14)
  return Buffer.from(`${JSON.stringify({ time: `${date} ${hour}:00:00`, ip, status_code: 500 })}\n`)
}
