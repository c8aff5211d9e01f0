// Several loghour-servers behind a real HAProxy (TCP mode, round-robin), writing into one Redis:
// the same registers as one server fed the same bytes, whichever server each connection reached.
import { describe, expect, it } from 'vitest'
import { demoLines, HOURS } from '../src/index.js'
import { HAPROXY, haproxyRecipe, startHaproxy } from './helpers/haproxy.js'
import { freePort, skipRedis, startRedis } from './helpers/redis.js'
import { message, sendTcp, startServer } from './helpers/server.js'
import { missing } from './helpers/tools.js'

describe.skipIf(skipRedis() || missing('haproxy (apt-get install haproxy)', HAPROXY !== undefined))('behind HAProxy, round-robin', () => {
  it('three servers into one Redis count what one server counts from the same bytes', async () => {
    const redis = await startRedis()
    try {
      const common = ['--redis', redis.url, '--flush-interval', '50', '--log-level', 'debug']
      const behind = await Promise.all([0, 1, 2].map(() => startServer([...common, '--key-prefix', 'lb_'])))
      const alone = await startServer([...common, '--key-prefix', 'one_'])
      const port = await freePort()
      await startHaproxy(
        haproxyRecipe(
          port,
          behind.map((s) => s.port),
        ),
        port,
      )
      // Nine connections, three at a time, each a different slice of 25 hours of lines.
      const data = demoLines(1, 1, 90_000)
      const cuts = Array.from({ length: 10 }, (_, i) =>
        i === 9 ? data.length : data.indexOf(0x0a, Math.floor((data.length * i) / 9)) + (i === 0 ? 0 : 1),
      )
      for (let round = 0; round < 3; round++) {
        await Promise.all([0, 1, 2].map((k) => sendTcp(port, data.subarray(cuts[round * 3 + k]!, cuts[round * 3 + k + 1]!))))
      }
      await sendTcp(alone.port, data)
      const codes = await Promise.all([...behind, alone].map((s) => s.stop()))
      expect(codes).toEqual([0, 0, 0, 0])
      // Round-robin reached every server (HAProxy's health checks are connections too).
      for (const s of behind) expect(s.logs.filter(message('connection closed')).some((r) => (r.bytes as number) > 0)).toBe(true)
      const client = redis.client()
      const registers = (prefix: string) =>
        Promise.all(Array.from({ length: HOURS }, async (_, h) => (await client.getBuffer(`${prefix}${h}`))?.subarray(16).toString('hex')))
      const expected = await registers('one_')
      expect(expected.every((r) => r !== undefined)).toBe(true)
      expect(await registers('lb_')).toEqual(expected)
    } finally {
      await redis.stop()
    }
  }, 60_000)
})
