// The Kafka rows of `npm run bench`: records per second read by loghour-server --kafka (one record
// per message, the way shippers write them) beside kafkajs alone reading the same topic in its
// own process (bench/kafka-bare.mjs), and 1, 2 and 3 servers in one group on 6 partitions.
// Needs Java and the broker jars `.ci/run` copies (LOGHOUR_KAFKA_LIB); skipped without them.
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { connect } from 'node:net'
import { homedir, tmpdir } from 'node:os'
import { join } from 'node:path'

const require = createRequire(import.meta.url)
const KAFKA_LIB =
  process.env.LOGHOUR_KAFKA_LIB ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'loghour-ci/kafka-4.4.0/lib')
const PARTITIONS = 6
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/** True when Java and the broker's jars are here. */
export const kafkaBenchAvailable = () => spawnSync('java', ['-version']).status === 0 && existsSync(join(KAFKA_LIB, 'kafka_2.13-4.4.0.jar'))

async function listening(port, child) {
  for (let i = 0; i < 600; i++) {
    const ok = await new Promise((resolve) => {
      const s = connect(port, '127.0.0.1')
      s.once('connect', () => resolve(s.destroy() || true))
      s.once('error', () => resolve(false))
    })
    if (ok) return
    if (child.exitCode !== null) break
    await sleep(100)
  }
  throw new Error('the Kafka broker did not start')
}

/** A single-node KRaft broker in a temp dir (the tests' setup: test/helpers/kafka.ts). */
async function startBroker(freePort) {
  const dir = mkdtempSync(join(tmpdir(), 'loghour-bench-kafka-'))
  const [port, controller] = [await freePort(), await freePort()]
  const file = join(dir, 'server.properties')
  writeFileSync(
    file,
    [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.voters=1@127.0.0.1:${controller}`,
      `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controller}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
      'controller.listener.names=CONTROLLER',
      'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      'inter.broker.listener.name=PLAINTEXT',
      `log.dirs=${join(dir, 'data')}`,
      'auto.create.topics.enable=false',
      'offsets.topic.replication.factor=1',
      'offsets.topic.num.partitions=1',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'group.initial.rebalance.delay.ms=0',
      'share.coordinator.state.topic.replication.factor=1',
      '',
    ].join('\n'),
  )
  const cp = ['-cp', `${KAFKA_LIB}/*`]
  execFileSync('java', [...cp, 'kafka.tools.StorageTool', 'format', '-t', 'bG9naG91ci1iZW5jaC1jbA', '-c', file], { stdio: 'ignore' })
  const child = spawn('java', ['-Xms512m', '-Xmx1g', ...cp, 'kafka.Kafka', file], { stdio: 'ignore' })
  await listening(port, child)
  return {
    bootstrap: `127.0.0.1:${port}`,
    stop: async () => {
      child.kill('SIGTERM')
      await once(child, 'exit')
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/**
 * Produces `lines` (one message each, keys spreading them over the partitions) into `topic` in one
 * transaction, committed by the returned function: the readers, settled in their group by then,
 * see every message at once (they read committed messages only, kafkajs's default).
 */
async function stage(kafka, topic, lines) {
  const producer = kafka.producer({ transactionalId: `bench-${topic}`, maxInFlightRequests: 1, idempotent: true })
  await producer.connect()
  const transaction = await producer.transaction()
  for (let i = 0; i < lines.length; i += 20_000) {
    await transaction.send({ topic, messages: lines.slice(i, i + 20_000).map((value, j) => ({ key: String(i + j), value })) })
  }
  return async () => {
    await transaction.commit()
    await producer.disconnect()
  }
}

/** Polls `read` (records so far) every 10 ms until it reaches `total`: when it did (ms since the epoch). */
async function reached(read, total) {
  for (;;) {
    if ((await read()) >= total) return Date.now()
    await sleep(10)
  }
}

/** A sample of a label-less metric in /metrics text (0 when absent). */
const metric = (text, name) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? 0)

/** Resolves when `check()` is true (polled every 20 ms, for at most a minute). */
async function until(check, what) {
  for (let i = 0; i < 3000; i++) {
    if (await check()) return
    await sleep(20)
  }
  throw new Error(`bench: timed out waiting for ${what}`)
}

/**
 * Runs the Kafka rows: `rounds` interleaved rounds of each reader over `lines` (pattern-1 lines,
 * one per message), each on a fresh topic whose messages appear at once when the readers' group
 * has settled. `startServer(args)` starts loghour-server (its HTTP base in `.http`), `startRedis()` a Redis.
 */
export async function kafkaRounds({ lines, rounds, freePort, startServer, startRedis, log }) {
  const { Kafka, logLevel } = require('kafkajs')
  const broker = await startBroker(freePort)
  const redis = await startRedis()
  const kafka = new Kafka({ clientId: 'loghour-bench', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING })
  const admin = kafka.admin()
  await admin.connect()
  try {
    const total = lines.length
    const bytes = lines.reduce((n, l) => n + Buffer.byteLength(l), 0)
    log(`kafka: ${total} messages (${(bytes / 1e6).toFixed(1)} MB) on ${PARTITIONS} partitions per round`)
    let topics = 0
    /** One timed reading of a fresh topic by `start(topic)`'s readers. */
    const timed = async (start) => {
      const topic = `access-${++topics}`
      await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true })
      const readers = await start(topic)
      await until(readers.settled, 'the group to settle')
      const publish = await stage(kafka, topic, lines)
      await publish()
      // From the moment every message became readable to the last one read, for every reader alike.
      const visible = Date.now()
      const ms = (await readers.end()) - visible
      await readers.stop()
      await admin.deleteTopics({ topics: [topic] })
      return ms
    }
    const servers = (count, args) => async (topic) => {
      const started = []
      for (let i = 0; i < count; i++) {
        started.push(await startServer(['--kafka', broker.bootstrap, '--kafka-topic', topic, '--kafka-group', topic, ...args]))
      }
      const sum = async (name) =>
        (await Promise.all(started.map(async (s) => metric(await (await fetch(`${s.http}/metrics`)).text(), name)))).reduce(
          (a, b) => a + b,
          0,
        )
      const each = async (name) => Promise.all(started.map(async (s) => metric(await (await fetch(`${s.http}/metrics`)).text(), name)))
      return {
        settled: async () =>
          (await each('loghour_kafka_partitions')).every((n) => n > 0) && (await sum('loghour_kafka_partitions')) === PARTITIONS,
        end: () => reached(() => sum('loghour_kafka_records_total'), total),
        stop: async () => {
          for (const s of started) await s.stop()
        },
      }
    }
    const bare = async (topic) => {
      const child = spawn(process.execPath, [join(import.meta.dirname, 'kafka-bare.mjs'), broker.bootstrap, topic, topic, String(total)], {
        stdio: ['ignore', 'pipe', 'inherit'],
      })
      let out = ''
      child.stdout.on('data', (d) => (out += d))
      const exited = once(child, 'exit')
      return {
        settled: () => out.includes('"joined"'),
        end: async () => {
          await exited
          return JSON.parse(out.trim().split('\n').at(-1)).at
        },
        stop: async () => {},
      }
    }
    const runs = { bare: [], memory: [], redis: [], two: [], three: [] }
    const readers = [
      ['bare', bare],
      ['memory', servers(1, [])],
      ['redis', servers(1, ['--redis', `redis://127.0.0.1:${redis.port}`])],
      ['two', servers(2, [])],
      ['three', servers(3, [])],
    ]
    // A warm-up round (the broker's JIT, the page cache), then rounds forward and backward in turn,
    // so that the VM's drift does not favour one reader.
    for (const [name, start] of readers) log(`kafka warm-up: ${name} ${Math.round(await timed(start))} ms`)
    for (let round = 0; round < rounds; round++) {
      for (const [name, start] of round % 2 === 0 ? readers : [...readers].reverse()) runs[name].push(await timed(start))
      log(
        `kafka round ${round + 1}/${rounds}: ${Object.entries(runs)
          .map(([k, v]) => `${k} ${Math.round(v.at(-1))} ms`)
          .join(', ')}`,
      )
    }
    return { messages: total, bytes, partitions: PARTITIONS, runs }
  } finally {
    await admin.disconnect()
    await redis.stop()
    await broker.stop()
  }
}
