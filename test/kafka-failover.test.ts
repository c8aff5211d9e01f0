// Three loghour-servers in one consumer group on a 6-partition topic, into one real Redis; one is
// SIGKILLed mid-stream (holding batches its Redis never confirmed: it reaches Redis through a relay
// the test stops) and replaced while more is produced. When the group's lag is 0 and the servers
// stop, the Redis counts equal PFCOUNT after PFADD of the records' elements, and every committed
// offset is at its log end: what the killed server read but had not committed was read again by
// another, and counting what was counted before changed nothing.
import { mkdirSync, writeFileSync } from 'node:fs'
import { connect, createServer, type Socket } from 'node:net'
import { describe, expect, it } from 'vitest'
import { accessRecord, committedToLogEnd, kafkaAvailable, kafkaTopic, produce, useKafka } from './helpers/kafka.js'
import { pfaddReference, pfcounts, skipRedis, useRedis } from './helpers/redis.js'
import { eventually, httpBase, type ServerProcess, startServer } from './helpers/server.js'
import { missing } from './helpers/tools.js'

const records = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => accessRecord(from + i, 40))

/** A TCP relay to `port` whose `hold()` stops passing what its clients send (their commands then go unanswered). */
async function relay(port: number): Promise<{ port: number; hold(): void; close(): void }> {
  const clients = new Set<Socket>()
  let held = false
  const server = createServer((client) => {
    const upstream = connect(port, '127.0.0.1')
    clients.add(client)
    if (held) client.pause()
    client.pipe(upstream).pipe(client)
    const end = () => {
      clients.delete(client)
      client.destroy()
      upstream.destroy()
    }
    client.on('error', end).on('close', end)
    upstream.on('error', end).on('close', end)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as { port: number }).port,
    hold() {
      held = true
      for (const client of clients) client.pause()
    },
    close() {
      for (const client of clients) client.destroy()
      server.close()
    },
  }
}

describe.skipIf(skipRedis() || missing('Java and the Kafka broker jars (bash .ci/run copies them from Maven Central)', kafkaAvailable))(
  'three loghour-servers in a Kafka consumer group, one killed and replaced',
  () => {
    const redis = useRedis()
    const broker = useKafka()

    it('loses nothing: exact counts and every offset committed at its log end', async () => {
      const { kafka, admin } = await kafkaTopic(broker, 'failover', 6)
      const input = ['--kafka', broker.bootstrap, '--kafka-topic', 'failover', '--key-prefix', 'fo:', '--http', '127.0.0.1:0']
      const args = ['--redis', redis.url, ...input]
      type Status = { kafka: { records: number; commits: number; partitions: unknown[] } }
      const status = async (server: ServerProcess) => ((await (await fetch(`${await httpBase(server)}/stats`)).json()) as Status).kafka
      // /stats needs the store (its hours); /metrics tells the input's counters whatever the store does.
      const recordsRead = async (server: ServerProcess) =>
        Number(/^loghour_kafka_records_total (\d+)$/m.exec(await (await fetch(`${await httpBase(server)}/metrics`)).text())![1])
      const toRedis = await relay(redis.port)
      const a = await startServer(args)
      const b = await startServer(['--redis', `redis://127.0.0.1:${toRedis.port}`, ...input])
      const c = await startServer(args)
      // The group settles with each of the three holding two partitions.
      await eventually(
        async () => (await Promise.all([a, b, c].map(status))).every((s) => s.partitions.length === 2),
        60_000,
        'two partitions each',
      )

      const first = records(0, 20_000)
      await produce(kafka, 'failover', first, 1000)
      await committedToLogEnd(admin, 'loghour', 'failover')
      // B's Redis stops answering: what B reads from now on is counted in B alone and never committed.
      toRedis.hold()
      const readBeforeHold = await recordsRead(b)
      const second = records(20_000, 40_000)
      await produce(kafka, 'failover', second, 1000)
      await b.waitForLog((r) => r.msg.startsWith('Kafka: the store did not confirm a batch'), 0)
      await eventually(async () => (await recordsRead(b)) > readBeforeHold, 30_000, 'B reads past the hold')
      const readByKilled = await recordsRead(b)
      const killedAt = Date.now()
      expect(await b.stop('SIGKILL')).toBe(null)
      toRedis.close()
      const d = await startServer(args) // the replacement
      await eventually(async () => (await status(d)).partitions.length > 0, 90_000, 'the replacement gets partitions')
      const third = records(40_000, 60_000)
      await produce(kafka, 'failover', third, 1000)

      await committedToLogEnd(admin, 'loghour', 'failover', 90_000)
      const recoveredMs = Date.now() - killedAt
      const read = await Promise.all([a, c, d].map(status))
      for (const server of [a, c, d]) expect(await server.stop()).toBe(0)
      const all = [...first, ...second, ...third]
      await pfaddReference(redis, Buffer.from(`${all.join('\n')}\n`), 'ref-fo:')
      const counts = await pfcounts(redis, 'fo:')
      expect(counts).toEqual(await pfcounts(redis, 'ref-fo:'))
      expect(counts.reduce((n, x) => n + x, 0)).toBeGreaterThan(0)
      // What the killed server read and had not committed was read again by the others.
      const readBySurvivors = read.reduce((n, s) => n + s.records, 0)
      const readAgain = readBySurvivors + readByKilled - all.length
      expect(readAgain).toBeGreaterThanOrEqual(readByKilled - readBeforeHold)
      mkdirSync('test-output/kafka', { recursive: true })
      writeFileSync(
        'test-output/kafka/failover.json',
        `${JSON.stringify({ produced: all.length, readByKilled, uncommittedAtKill: readByKilled - readBeforeHold, readBySurvivors, readAgain, recoveredMs }, null, 2)}\n`,
      )
      await admin.disconnect()
    }, 240_000)
  },
)
