// loghour-server --kafka against a real Kafka broker and a real Redis: records produced to a
// 3-partition topic (one per message, several per message, empty, garbage and oversize messages) are
// counted exactly (PFCOUNT after PFADD of the model's elements), every committed offset reaches
// the log end, /stats, /metrics and /readyz tell the group's state, and SIGTERM exits 0.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it, onTestFinished } from 'vitest'
import { ROOT, run } from './helpers/cli.js'
import { accessRecord, committedOffsets, committedToLogEnd, kafkaAvailable, kafkaTopic, produce, useKafka } from './helpers/kafka.js'
import { pfaddReference, pfcounts, skipRedis, useRedis } from './helpers/redis.js'
import { eventually, httpBase, startServer } from './helpers/server.js'
import { missing } from './helpers/tools.js'

const PROMTOOL = spawnSync('promtool', ['--version']).status === 0

describe.skipIf(skipRedis() || missing('Java and the Kafka broker jars (bash .ci/run copies them from Maven Central)', kafkaAvailable))(
  'loghour-server --kafka',
  () => {
    const redis = useRedis()
    const broker = useKafka()

    it('counts what was produced exactly, commits to the log end, tells its state, and exits 0 on SIGTERM', async () => {
      const { kafka, admin } = await kafkaTopic(broker, 'access', 3)
      // One record per message (the way shippers write them), three per message, an empty one, garbage.
      const values = [
        ...Array.from({ length: 300 }, (_, i) => accessRecord(i)),
        ...Array.from(
          { length: 30 },
          (_, i) => `${accessRecord(1000 + 3 * i)}\n${accessRecord(1001 + 3 * i)}\n${accessRecord(1002 + 3 * i)}\n`,
        ),
        '',
        '\u0000\u00ff not a record',
        // Over the line limit (64 KiB): invalid, counted, and read past like any other.
        `{"pad":"${'x'.repeat(70_000)}"}`,
      ]
      await produce(kafka, 'access', values)
      const server = await startServer([
        '--redis',
        redis.url,
        '--kafka',
        broker.bootstrap,
        '--kafka-topic',
        'access',
        '--key-prefix',
        'kafka:',
        '--http',
        '127.0.0.1:0',
      ])
      const http = await httpBase(server)
      await committedToLogEnd(admin, 'loghour', 'access', 30_000)
      // Committed means merged: Redis holds every record's element before any server stops.
      const stream = Buffer.from(`${values.filter((v) => v !== '').join('\n')}\n`)
      await pfaddReference(redis, stream, 'ref-kafka:')
      expect(await pfcounts(redis, 'kafka:')).toEqual(await pfcounts(redis, 'ref-kafka:'))
      expect((await server.waitForLog((r) => r.msg.startsWith('Kafka: group loghour assigned 3 partitions'), 0)).kafka).toBeDefined()

      // The group's state: every partition assigned here, lag 0, every message and byte read.
      type Kafka = { group: string; state: string; connected: boolean; partitions: { partition: number; lag: number }[] }
      type Answer = { kafka: Kafka & { lag: number; records: number; bytes: number; commits: number; commitFailures: number } }
      let stats: Answer | undefined
      await eventually(async () => {
        stats = (await (await fetch(`${http}/stats`)).json()) as Answer
        return stats.kafka.lag === 0
      })
      expect(stats!.kafka).toMatchObject({
        group: 'loghour',
        state: 'consuming',
        connected: true,
        records: values.length,
        commitFailures: 0,
      })
      expect(stats!.kafka.bytes).toBe(values.reduce((n, v) => n + Buffer.byteLength(v), 0))
      expect(stats!.kafka.partitions.map((p) => [p.partition, p.lag])).toEqual([
        [0, 0],
        [1, 0],
        [2, 0],
      ])
      expect(stats!.kafka.commits).toBeGreaterThan(0)
      const ready = await fetch(`${http}/readyz`)
      expect(ready.status).toBe(200)
      const metrics = await (await fetch(`${http}/metrics`)).text()
      for (const partition of [0, 1, 2]) expect(metrics).toContain(`loghour_kafka_lag{topic="access",partition="${partition}"} 0`)
      expect(metrics).toContain(`loghour_kafka_records_total ${values.length}`)
      expect(metrics).toContain('loghour_kafka_partitions 3')
      expect(metrics).toContain('loghour_kafka_connected 1')
      expect(metrics).toContain(`loghour_kafka_commits_total ${stats!.kafka.commits}`)
      if (PROMTOOL) {
        const check = spawnSync('promtool', ['check', 'metrics'], { input: metrics, encoding: 'utf8' })
        expect(check.status, check.stdout + check.stderr).toBe(0)
      }
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
      const memoryHttp = await httpBase(memory)
      const total = values.filter((v) => v !== '').reduce((n, v) => n + v.split('\n').filter((l) => l !== '').length, 0)
      type Lines = { lines: { total: number }; invalid: { tooLong: number }; kafka: { lag: number } }
      let answer: Lines | undefined
      await eventually(async () => {
        answer = (await (await fetch(`${memoryHttp}/stats`)).json()) as Lines
        return answer.lines.total === total && answer.kafka.lag === 0 // lag from what was counted
      })
      expect(answer!.invalid.tooLong).toBe(1)
      expect(Object.values(await committedOffsets(admin, 'memory', 'access'))).toEqual(['-1', '-1', '-1'])
      expect(await memory.stop()).toBe(0)

      // With --snapshot, an offset is committed once the snapshot file holds what it covers: a
      // server SIGKILLed as soon as the offsets reach the log ends left a snapshot with the
      // reference's hours.
      const dir = mkdtempSync(join(tmpdir(), 'loghour-kafka-snapshot-'))
      onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
      const file = join(dir, 'counts.snap')
      const snapshot = await startServer([
        '--snapshot',
        file,
        '--kafka',
        broker.bootstrap,
        '--kafka-topic',
        'access',
        '--kafka-group',
        'snapshot',
      ])
      await committedToLogEnd(admin, 'snapshot', 'access')
      expect(await snapshot.stop('SIGKILL')).toBe(null)
      const restored = await startServer(['--snapshot', file, '--http', '127.0.0.1:0'])
      const hours = ((await (await fetch(`${await httpBase(restored)}/stats`)).json()) as { hours: number[] }).hours
      expect(hours).toEqual(await pfcounts(redis, 'ref-kafka:'))
      expect(await restored.stop()).toBe(0)
      await admin.disconnect()
    }, 120_000)
  },
)

describe('loghour-server --kafka settings', () => {
  it('without kafkajs installed: one line saying how to install it, exit 1', async () => {
    const r = await run('loghour-server.js', ['--port', '0', '--kafka', '127.0.0.1:9', '--kafka-topic', 'access'], undefined, {
      env: { ...process.env, NODE_OPTIONS: `--require ${join(ROOT, 'test/fixtures/no-kafkajs.cjs')}` },
    })
    expect(r.stderr.toString()).toBe('loghour-server: --kafka needs the kafkajs package next to loghour: npm install kafkajs@2.2.4\n')
    expect(r.code).toBe(1)
  })

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
