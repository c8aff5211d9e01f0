// loghour-server --kafka against a real Kafka broker and a real Redis: records produced to a
// 3-partition topic (one per message, several per message, empty, garbage and oversize messages) are
// counted exactly (PFCOUNT after PFADD of the model's elements), every committed offset reaches
// the log end, and SIGTERM exits 0.
import { describe, expect, it } from 'vitest'
import { run } from './helpers/cli.js'
import { kafkaAvailable, kafkaClient, useKafka } from './helpers/kafka.js'
import { pfaddReference, pfcounts, skipRedis, useRedis } from './helpers/redis.js'
import { eventually, startServer } from './helpers/server.js'
import { missing } from './helpers/tools.js'

const record = (i: number) =>
  `{"time":"2026-11-${23 + (i % 5)} ${String(i % 24).padStart(2, '0')}:15:00","ip":"10.1.${i % 7}.${i % 251}","status_code":${[200, 500, 503, 404][i % 4]}}`

describe.skipIf(skipRedis() || missing('Java and the Kafka broker jars (bash .ci/run copies them from Maven Central)', kafkaAvailable))(
  'loghour-server --kafka',
  () => {
    const redis = useRedis()
    const broker = useKafka()

    it('counts what was produced exactly, commits to the log end, and exits 0 on SIGTERM', async () => {
      const kafka = kafkaClient(broker)
      const admin = kafka.admin()
      await admin.connect()
      await admin.createTopics({ topics: [{ topic: 'access', numPartitions: 3 }], waitForLeaders: true })
      const producer = kafka.producer()
      await producer.connect()
      // One record per message (the way shippers write them), three per message, an empty one, garbage.
      const values = [
        ...Array.from({ length: 300 }, (_, i) => record(i)),
        ...Array.from({ length: 30 }, (_, i) => `${record(1000 + 3 * i)}\n${record(1001 + 3 * i)}\n${record(1002 + 3 * i)}\n`),
        '',
        '\u0000\u00ff not a record',
        // Over the line limit (64 KiB): invalid, counted, and read past like any other.
        `{"pad":"${'x'.repeat(70_000)}"}`,
      ]
      await producer.send({ topic: 'access', messages: values.map((value, i) => ({ key: String(i), value })) })
      await producer.disconnect()
      const server = await startServer([
        '--redis',
        redis.url,
        '--kafka',
        broker.bootstrap,
        '--kafka-topic',
        'access',
        '--key-prefix',
        'kafka:',
      ])
      const ends = await admin.fetchTopicOffsets('access')
      const committed = async () => {
        // The group coordinator answers "loading" for a moment after the group first appears.
        const [topic] = await admin.fetchOffsets({ groupId: 'loghour', topics: ['access'] }).catch(() => [undefined])
        return Object.fromEntries((topic?.partitions ?? []).map((p) => [p.partition, p.offset]))
      }
      const want = Object.fromEntries(ends.map((p) => [p.partition, p.offset]))
      await eventually(async () => JSON.stringify(await committed()) === JSON.stringify(want), 30_000, 'offsets committed to the log end')
      // Committed means merged: Redis holds every record's element before any server stops.
      const stream = Buffer.from(`${values.filter((v) => v !== '').join('\n')}\n`)
      await pfaddReference(redis, stream, 'ref-kafka:')
      expect(await pfcounts(redis, 'kafka:')).toEqual(await pfcounts(redis, 'ref-kafka:'))
      expect(await server.stop()).toBe(0)

      // The memory store alone keeps nothing past the process: it counts, and commits nothing.
      const memory = await startServer([
        '--kafka',
        broker.bootstrap,
        '--kafka-topic',
        'access',
        '--kafka-group',
        'memory',
        '--http',
        '127.0.0.1:0',
      ])
      const http = `http://127.0.0.1:${((await memory.waitForLog((r) => r.msg.startsWith('HTTP endpoints'), 0)).http as { port: number }).port}`
      const total = values.filter((v) => v !== '').reduce((n, v) => n + v.split('\n').filter((l) => l !== '').length, 0)
      type Answer = { lines: { total: number }; invalid: { tooLong: number } }
      let answer: Answer | undefined
      await eventually(async () => {
        answer = (await (await fetch(`${http}/stats`)).json()) as Answer
        return answer.lines.total === total
      })
      expect(answer!.invalid.tooLong).toBe(1)
      const [memoryGroup] = await admin.fetchOffsets({ groupId: 'memory', topics: ['access'] })
      expect(memoryGroup!.partitions.every((p) => p.offset === '-1')).toBe(true)
      expect(await memory.stop()).toBe(0)
      await admin.disconnect()
    }, 90_000)
  },
)

describe('loghour-server --kafka settings', () => {
  it('--kafka without --kafka-topic, or the reverse, is a usage error (exit 2)', async () => {
    for (const [args, given] of [
      [['--kafka', '127.0.0.1:9092'], '--kafka'],
      [['--kafka-topic', 'access'], '--kafka-topic'],
    ] as const) {
      const r = await run('loghour-server.js', [...args])
      expect(r.code).toBe(2)
      expect(r.stderr.toString()).toMatch(new RegExp(`invalid combination: ${given} needs --kafka`))
    }
  })
})
