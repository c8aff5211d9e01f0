// The Kafka tests' broker and the client the Kafka input is built on: kafkajs 2.2.4 produces to and
// consumes from a real Apache Kafka 4.4 (KRaft, from Maven Central) in a consumer group on this
// Node, committing offsets by hand after each batch; every message arrives exactly once here, and
// the committed offsets equal the log end of every partition.
import { describe, expect, it } from 'vitest'
import { kafkaAvailable, kafkaClient, useKafka } from './helpers/kafka.js'
import { missing } from './helpers/tools.js'

describe.skipIf(missing('Java and the Kafka broker jars (bash .ci/run copies them from Maven Central)', kafkaAvailable))(
  'a real Kafka broker and kafkajs',
  () => {
    const broker = useKafka()

    it('six partitions, a consumer group, manual commits: every message once, committed to the log end', async () => {
      const kafka = kafkaClient(broker)
      const admin = kafka.admin()
      await admin.connect()
      expect(await admin.createTopics({ topics: [{ topic: 'access', numPartitions: 6 }], waitForLeaders: true })).toBe(true)
      const producer = kafka.producer()
      await producer.connect()
      const sent = Array.from(
        { length: 600 },
        (_, i) => `{"time":"2026-11-23 09:15:00","ip":"10.0.0.${i % 250}","status_code":${i % 2 ? 503 : 200}}`,
      )
      for (let from = 0; from < sent.length; from += 100) {
        await producer.send({
          topic: 'access',
          messages: sent.slice(from, from + 100).map((value, k) => ({ key: String(from + k), value })),
        })
      }
      await producer.disconnect()
      const consumer = kafka.consumer({ groupId: 'loghour', allowAutoTopicCreation: false })
      await consumer.connect()
      await consumer.subscribe({ topic: 'access', fromBeginning: true })
      const received: string[] = []
      const done = new Promise<void>((resolve) => {
        void consumer.run({
          autoCommit: false,
          eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
            for (const message of batch.messages) {
              received.push(message.value!.toString())
              resolveOffset(message.offset)
            }
            const next = (BigInt(batch.lastOffset()) + 1n).toString()
            await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: next }])
            await heartbeat()
            if (received.length >= sent.length) resolve()
          },
        })
      })
      await done
      await consumer.disconnect()
      expect(received.sort()).toEqual([...sent].sort())
      const ends = await admin.fetchTopicOffsets('access')
      const [committed] = await admin.fetchOffsets({ groupId: 'loghour', topics: ['access'] })
      const byPartition = (list: { partition: number; offset: string }[]) => Object.fromEntries(list.map((p) => [p.partition, p.offset]))
      expect(ends).toHaveLength(6)
      expect(byPartition(committed!.partitions)).toEqual(byPartition(ends))
      await admin.disconnect()
    }, 60_000)
  },
)
