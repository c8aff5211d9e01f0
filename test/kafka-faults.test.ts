// The Kafka input through faults, against a real broker and a real Redis: a broker restart (and
// /readyz 503 with the reason while no broker answers, one log line each way), and a Redis outage
// during which offsets wait, reading pauses instead of buffering (bytes read stay within one
// fetch while 30 MB wait in Kafka), and after which everything is counted exactly and committed.
import { describe, expect, it } from 'vitest'
import { KAFKA_FETCH } from '../src/kafka.js'
import {
  accessRecord,
  committedOffsets,
  committedToLogEnd,
  kafkaAvailable,
  kafkaTopic,
  logEnds,
  produce,
  useKafka,
} from './helpers/kafka.js'
import { pfaddReference, pfcounts, skipRedis, useRedis } from './helpers/redis.js'
import { eventually, httpBase, message, startServer } from './helpers/server.js'
import { missing } from './helpers/tools.js'

const records = (from: number, to: number, pad = 0) => Array.from({ length: to - from }, (_, i) => accessRecord(from + i, pad))
const metric = (text: string, name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN)

describe.skipIf(skipRedis() || missing('Java and the Kafka broker jars (bash .ci/run copies them from Maven Central)', kafkaAvailable))(
  'loghour-server --kafka through faults',
  () => {
    const redis = useRedis()
    const broker = useKafka()

    it('a broker restart: /readyz 503 with the reason while none answers, one log line each way, then all counted and committed', async () => {
      const { kafka, admin } = await kafkaTopic(broker, 'restart', 3)
      const before = records(0, 200)
      await produce(kafka, 'restart', before)
      const args = ['--redis', redis.url, '--kafka', broker.bootstrap, '--kafka-topic', 'restart', '--key-prefix', 'restart:']
      const server = await startServer([...args, '--http', '127.0.0.1:0'])
      const http = await httpBase(server)
      await committedToLogEnd(admin, 'loghour', 'restart')
      await eventually(async () => (await fetch(`${http}/readyz`)).status === 200)
      await admin.disconnect()

      await broker.halt()
      let reason = ''
      await eventually(
        async () => {
          const r = await fetch(`${http}/readyz`)
          reason = ((await r.json()) as { reason?: string }).reason ?? ''
          return r.status === 503
        },
        40_000,
        '/readyz 503 while no broker answers',
      )
      expect(reason).toMatch(new RegExp(`no answer from the Kafka brokers \\(${broker.bootstrap}\\) for \\d+ s`))
      const metrics = await (await fetch(`${http}/metrics`)).text()
      expect(metric(metrics, 'loghour_kafka_connected')).toBe(0)
      await broker.resume()

      const after = records(200, 400)
      await produce(kafka, 'restart', after)
      const admin2 = kafka.admin()
      await admin2.connect()
      await committedToLogEnd(admin2, 'loghour', 'restart')
      await eventually(async () => (await fetch(`${http}/readyz`)).status === 200, 30_000, '/readyz 200 again')
      await pfaddReference(redis, Buffer.from(`${[...before, ...after].join('\n')}\n`), 'ref-restart:')
      expect(await pfcounts(redis, 'restart:')).toEqual(await pfcounts(redis, 'ref-restart:'))
      expect(await server.stop()).toBe(0)
      expect(server.logs.filter(message('Kafka: no answer from the brokers'))).toHaveLength(1)
      expect(server.logs.filter(message('Kafka: the brokers answer again'))).toHaveLength(1)
      await admin2.disconnect()
    }, 150_000)

    it('a Redis outage: offsets wait, reading pauses within one fetch, then everything is counted and committed', async () => {
      const { kafka, admin } = await kafkaTopic(broker, 'outage', 3)
      const before = records(0, 300)
      await produce(kafka, 'outage', before)
      const server = await startServer([
        ...['--redis', redis.url, '--kafka', broker.bootstrap, '--kafka-topic', 'outage', '--kafka-group', 'outage'],
        ...['--key-prefix', 'outage:', '--http', '127.0.0.1:0'],
      ])
      const http = await httpBase(server)
      await committedToLogEnd(admin, 'outage', 'outage')
      const committedBefore = await committedOffsets(admin, 'outage', 'outage')
      const readBefore = metric(await (await fetch(`${http}/metrics`)).text(), 'loghour_kafka_bytes_total')

      redis.process.kill('SIGKILL')
      // 90,000 records of ~350 bytes: 30 MB waiting in Kafka while Redis is down.
      const during = records(300, 90_300, 250)
      await produce(kafka, 'outage', during)
      await server.waitForLog(message('Kafka: the store did not confirm a batch'), 0)
      // One fetch of the 3 partitions (a partition's first record batch may pass its bound: 1 MiB more).
      const oneFetch = Math.min(KAFKA_FETCH.maxBytes, 3 * KAFKA_FETCH.maxBytesPerPartition) + (1 << 20)
      // For a while (an upper bound only: a fast buffering reader would cross it within it), the
      // bytes read since the outage stay within one fetch, and no offset moves.
      const deadline = Date.now() + 5000
      while (Date.now() < deadline) {
        const read = metric(await (await fetch(`${http}/metrics`)).text(), 'loghour_kafka_bytes_total') - readBefore
        expect(read).toBeLessThanOrEqual(oneFetch)
        await new Promise((r) => setTimeout(r, 250))
      }
      expect(await committedOffsets(admin, 'outage', 'outage')).toEqual(committedBefore)
      const metrics = await (await fetch(`${http}/metrics`)).text()
      const lag = [...metrics.matchAll(/^loghour_kafka_lag\{[^}]*\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0)
      const produced = Object.values(await logEnds(admin, 'outage')).reduce((n, o) => n + Number(o), 0)
      expect(lag).toBe(produced - before.length) // every record since the outage began waits
      // /stats cannot answer the hours, but tells the input's state.
      const stats = await fetch(`${http}/stats`)
      expect(stats.status).toBe(503)
      expect(((await stats.json()) as { kafka: { waitingForStore: boolean } }).kafka.waitingForStore).toBe(true)
      const ready = await fetch(`${http}/readyz`)
      expect(ready.status).toBe(503)
      expect(((await ready.json()) as { reason: string }).reason).toMatch(/the redis store is unreachable/)

      await redis.restart()
      await committedToLogEnd(admin, 'outage', 'outage', 90_000)
      await pfaddReference(redis, Buffer.from(`${[...before, ...during].join('\n')}\n`), 'ref-outage:')
      expect(await pfcounts(redis, 'outage:')).toEqual(await pfcounts(redis, 'ref-outage:'))
      expect(await server.stop()).toBe(0)
      expect(server.logs.filter(message('Kafka: the store did not confirm a batch'))).toHaveLength(1)
      expect(server.logs.filter(message('Kafka: the store confirmed again'))).toHaveLength(1)
      await admin.disconnect()
    }, 180_000)
  },
)
