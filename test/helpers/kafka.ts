// A real Apache Kafka broker (4.4.0, one node in KRaft mode: broker and controller) on free ports
// in a temp dir, from the jars `.ci/run` copies from Maven Central (scripts/kafka/pom.xml) into
// LOGHOUR_KAFKA_LIB. Topics are never created by a client that subscribes first
// (`auto.create.topics.enable=false`): a test creates each topic with its partitions.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { homedir, tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Admin, Kafka, logLevel } from 'kafkajs'
import { afterAll, beforeAll } from 'vitest'
import { freePort } from './redis.js'

/** Where the broker's jars are (`.ci/run` fills it). */
export const KAFKA_LIB =
  process.env.LOGHOUR_KAFKA_LIB ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'loghour-ci/kafka-4.4.0/lib')

/** True when Java and the broker's jars are here. */
export const kafkaAvailable =
  spawnSync('java', ['-version']).status === 0 &&
  existsSync(KAFKA_LIB) &&
  readdirSync(KAFKA_LIB).some((f) => /^kafka_2\.13-4\.4\.0\.jar$/.test(f))

export interface KafkaBroker {
  /** `127.0.0.1:<port>`, what clients bootstrap from. */
  bootstrap: string
  port: number
  /** The port of each listener by its name (`PLAINTEXT`, and those asked for). */
  ports: Record<string, number>
  dir: string
  /** Stops the broker (SIGTERM, a clean shutdown), waits for its exit and removes its directory; `kill` SIGKILLs it. */
  stop(): Promise<void>
  kill(): Promise<void>
  /** Stops it (SIGTERM) keeping its data; `resume` starts it again on the same ports. */
  halt(): Promise<void>
  resume(): Promise<void>
  /** The broker's own log, for a failing test's message. */
  log(): string
}

/** Java for one run of a class from the jars. */
const javaArgs = (main: string, args: string[]) => ['-Xms128m', '-Xmx512m', '-cp', `${KAFKA_LIB}/*`, main, ...args]

/** Resolves once `port` accepts a connection, or rejects after `ms`. */
async function listening(port: number, ms: number, exited: () => boolean): Promise<void> {
  const deadline = Date.now() + ms
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1')
      socket.once('connect', () => {
        socket.destroy()
        resolve(true)
      })
      socket.once('error', () => resolve(false))
    })
    if (ok) return
    if (exited() || Date.now() > deadline) throw new Error(`the Kafka broker did not listen on ${port}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** A broker's extras: listeners beside PLAINTEXT (e.g. `SSL`, `SASL_SSL`), properties, SCRAM users. */
export interface KafkaSetup {
  listeners?: string[]
  properties?: Record<string, string>
  scram?: { mechanism: 'SCRAM-SHA-256' | 'SCRAM-SHA-512'; name: string; password: string }[]
}

/**
 * Formats a fresh log directory and starts a broker on free ports; extra listeners, properties
 * (TLS, SASL) and SCRAM users come from `setup`. Stop it in `afterAll`.
 */
export async function startKafka(setup: KafkaSetup = {}): Promise<KafkaBroker> {
  const dir = mkdtempSync(join(tmpdir(), 'loghour-kafka-'))
  const [port, controller] = [await freePort(), await freePort()]
  const ports: Record<string, number> = { PLAINTEXT: port }
  for (const name of setup.listeners ?? []) ports[name] = await freePort()
  const listeners = Object.entries(ports).map(([name, p]) => `${name}://127.0.0.1:${p}`)
  const config = {
    'process.roles': 'broker,controller',
    'node.id': '1',
    'controller.quorum.voters': `1@127.0.0.1:${controller}`,
    listeners: [...listeners, `CONTROLLER://127.0.0.1:${controller}`].join(','),
    'advertised.listeners': listeners.join(','),
    'controller.listener.names': 'CONTROLLER',
    'listener.security.protocol.map': 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL',
    'inter.broker.listener.name': 'PLAINTEXT',
    'log.dirs': join(dir, 'data'),
    'auto.create.topics.enable': 'false',
    'offsets.topic.replication.factor': '1',
    'offsets.topic.num.partitions': '1',
    'transaction.state.log.replication.factor': '1',
    'transaction.state.log.min.isr': '1',
    'group.initial.rebalance.delay.ms': '0',
    'share.coordinator.state.topic.replication.factor': '1',
    ...setup.properties,
  }
  const file = join(dir, 'server.properties')
  writeFileSync(
    file,
    `${Object.entries(config)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n')}\n`,
  )
  const scram = (setup.scram ?? []).flatMap((u) => ['--add-scram', `${u.mechanism}=[name=${u.name},password=${u.password}]`])
  const format = spawnSync('java', javaArgs('kafka.tools.StorageTool', ['format', '-t', 'bG9naG91ci10ZXN0LWNsdQ', '-c', file, ...scram]), {
    encoding: 'utf8',
  })
  if (format.status !== 0) throw new Error(`kafka-storage format failed: ${format.stdout}${format.stderr}`)
  let output = ''
  let child: ChildProcess | undefined
  let exited = Promise.resolve()
  const launch = async () => {
    const started = spawn('java', javaArgs('kafka.Kafka', [file]), { stdio: ['ignore', 'pipe', 'pipe'] })
    child = started
    started.stdout!.on('data', (d: Buffer) => (output += d.toString()))
    started.stderr!.on('data', (d: Buffer) => (output += d.toString()))
    exited = new Promise<void>((resolve) => started.once('exit', () => resolve()))
    try {
      await listening(port, 60_000, () => started.exitCode !== null)
    } catch (error) {
      await stopWith('SIGKILL')
      throw new Error(`${(error as Error).message}: ${output.slice(-4000)}`)
    }
  }
  const stopWith = async (signal: NodeJS.Signals) => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill(signal)
    await exited
  }
  await launch()
  return {
    bootstrap: `127.0.0.1:${port}`,
    port,
    ports,
    dir,
    stop: async () => {
      await stopWith('SIGTERM')
      rmSync(dir, { recursive: true, force: true })
    },
    kill: () => stopWith('SIGKILL'),
    halt: () => stopWith('SIGTERM'),
    resume: launch,
    log: () => output,
  }
}

/** A broker started before the file's tests and stopped after them (use its members inside a test). */
export function useKafka(setup: KafkaSetup | (() => KafkaSetup) = {}): KafkaBroker {
  let broker: KafkaBroker | undefined
  beforeAll(async () => {
    broker = await startKafka(typeof setup === 'function' ? setup() : setup)
  }, 90_000)
  afterAll(async () => {
    await broker?.stop()
  })
  const started = (): KafkaBroker => {
    if (!broker) throw new Error('the Kafka broker is not started (use it inside a test)')
    return broker
  }
  return new Proxy({} as KafkaBroker, { get: (_, key) => Reflect.get(started(), key) })
}

/** A client of the broker that says nothing (its own log is not the test's). */
export function kafkaClient(broker: KafkaBroker): Kafka {
  return new Kafka({ clientId: 'loghour-test', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING })
}

/** A JSON access record, different for each `i` (hours, days, users and statuses vary), padded by `pad` bytes. */
export const accessRecord = (i: number, pad = 0) =>
  `{"time":"2026-11-${23 + (i % 5)} ${String(i % 24).padStart(2, '0')}:15:00","ip":"10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}","status_code":${[200, 500, 503, 404][i % 4]}${pad > 0 ? `,"ua":"${'u'.repeat(pad)}"` : ''}}`

/** Creates `topic` with `partitions` and waits for its leaders. */
export async function createTopic(admin: Admin, topic: string, partitions: number): Promise<void> {
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true })
}

/** A client of the broker and its connected admin, with `topic` created with `partitions` (disconnect the admin). */
export async function kafkaTopic(broker: KafkaBroker, topic: string, partitions: number): Promise<{ kafka: Kafka; admin: Admin }> {
  const kafka = kafkaClient(broker)
  const admin = kafka.admin()
  await admin.connect()
  await createTopic(admin, topic, partitions)
  return { kafka, admin }
}

/** Sends `values`, one message each (keys spread them over the partitions), in sends of `chunk`. */
export async function produce(kafka: Kafka, topic: string, values: string[], chunk = 5000): Promise<void> {
  const producer = kafka.producer()
  await producer.connect()
  for (let i = 0; i < values.length; i += chunk) {
    await producer.send({ topic, messages: values.slice(i, i + chunk).map((value, j) => ({ key: String(i + j), value })) })
  }
  await producer.disconnect()
}

/** Each partition's log end (`partition → offset`). */
export async function logEnds(admin: Admin, topic: string): Promise<Record<number, string>> {
  return Object.fromEntries((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, p.offset]))
}

/** The group's committed offsets (`partition → offset`, `-1` for none); `{}` while the coordinator is still loading. */
export async function committedOffsets(admin: Admin, groupId: string, topic: string): Promise<Record<number, string>> {
  const [found] = await admin.fetchOffsets({ groupId, topics: [topic] }).catch(() => [undefined])
  return Object.fromEntries((found?.partitions ?? []).map((p) => [p.partition, p.offset]))
}

/** Resolves once every partition of `topic` has `groupId`'s offset committed at its log end. */
export async function committedToLogEnd(admin: Admin, groupId: string, topic: string, ms = 60_000): Promise<void> {
  const want = JSON.stringify(await logEnds(admin, topic))
  const deadline = Date.now() + ms
  for (;;) {
    const now = JSON.stringify(await committedOffsets(admin, groupId, topic))
    if (now === want) return
    if (Date.now() > deadline) throw new Error(`${groupId} committed ${now} on ${topic}, not the log ends ${want}`)
    await new Promise((r) => setTimeout(r, 200))
  }
}
