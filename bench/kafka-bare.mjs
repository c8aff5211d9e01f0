// kafkajs alone, as the Kafka rows' baseline: one consumer group member reading every partition of
// a topic with the fetch bounds loghour-server uses, doing nothing with the messages but counting
// them. Prints {"joined":true} when the group assigned it the partitions, then {"at": …}, when it
// read the last message (ms since the epoch).
// Usage: node bench/kafka-bare.mjs BROKER TOPIC GROUP TOTAL
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const { Kafka, logLevel } = require('kafkajs')
const [broker, topic, groupId, total] = process.argv.slice(2)
const kafka = new Kafka({ clientId: 'loghour-bench-bare', brokers: [broker], logLevel: logLevel.NOTHING })
// The fetch bounds of loghour-server (KAFKA_FETCH in src/kafka.ts).
const consumer = kafka.consumer({ groupId, maxBytesPerPartition: 4 << 20, maxBytes: 16 << 20 })
consumer.on(consumer.events.GROUP_JOIN, () => process.stdout.write('{"joined":true}\n'))
await consumer.connect()
await consumer.subscribe({ topic, fromBeginning: true })
let read = 0
const done = new Promise((resolve) => {
  consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      read += batch.messages.length
      if (read >= Number(total)) resolve(Date.now())
    },
  })
})
const at = await done
await consumer.disconnect()
process.stdout.write(`${JSON.stringify({ at })}\n`)
