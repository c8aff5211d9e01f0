// The Kafka input of loghour-server (--kafka): a member of a consumer group whose partitions each
// feed a native line stream of the consumer, and whose offsets are committed only once the store
// confirmed a flush that holds every record before them (at least once, end to end; recounting a
// record cannot change a HyperLogLog). Loaded only with --kafka: `import 'loghour'` never loads
// a Kafka client.
import type { ConnectionOptions } from 'node:tls'
import type { Admin, Consumer, EachBatchPayload, Kafka as KafkaClient, SASLOptions } from 'kafkajs'
import type { LogConsumer } from './consumer.js'
import { type NativeLineStream, OPEN_NATIVE_STREAM } from './native.js'

/** What the input reads, and from where. */
export interface KafkaInputOptions {
  brokers: string[]
  topics: string[]
  group: string
  /** Where a group without committed offsets starts. */
  from: 'earliest' | 'latest'
  /** Names this member in the brokers' logs. */
  clientId: string
  /**
   * Whether offsets are committed: not with a memory store without a snapshot, whose counts die
   * with the process, so that a restart reads (and counts) again what Kafka kept.
   */
  commit: boolean
  /** TLS to the brokers (`true`: the system's CAs), and SASL. */
  tls?: ConnectionOptions | true
  sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string }
}

/** What the input reports to the server's log: episodes, each told once when it starts and ends. */
export interface KafkaInputEvents {
  /** Offsets committed after a confirmed flush. */
  committed(info: { topic: string; partition: number; offset: string }): void
  /** A commit failed (the records are merged; the next owner of the partition reads them again). */
  commitFailed(error: Error): void
  /** The store did not confirm a batch: its offsets wait (and reading pauses) until it does. */
  storeWaiting(error: Error): void
  storeConfirmed(waitedMs: number): void
  /** No broker answered for {@link KAFKA_SILENCE_MS}, and when one answers again. */
  unreachable(reason: string): void
  reachable(silentMs: number): void
  /** The assignment of this member after a (re)join of the group. */
  assigned(partitions: { topic: string; partition: number }[]): void
}

/** One assigned partition, as /stats shows it. */
export interface KafkaPartitionStatus {
  topic: string
  partition: number
  /** The next offset this member will confirm (committed, or counted with commit off), or null before its first batch. */
  position: string | null
  /** The partition's log end at the last look (at most {@link LAG_TTL_MS} old), or null when unknown. */
  logEnd: string | null
  /** Messages between the position (or the group's committed offset) and the log end; null when unknown. */
  lag: number | null
}

/** The input's state for /stats, /metrics, /readyz and the dashboard. */
export interface KafkaStatus {
  group: string
  topics: string[]
  /** `joining` until the first assignment; `rebalancing` while the group reassigns partitions. */
  state: 'connecting' | 'joining' | 'consuming' | 'rebalancing' | 'stopped'
  /** Whether a broker answered within {@link KAFKA_SILENCE_MS}. */
  connected: boolean
  /** The last error the client met (a connection refused, a timeout), or null. */
  problem: string | null
  partitions: KafkaPartitionStatus[]
  /** Sum of the assigned partitions' lags, or null when one is unknown. */
  lag: number | null
  /** Messages and bytes of message values read (a batch read again after a failure counts again). */
  records: number
  bytes: number
  commits: number
  commitFailures: number
  /** Times the group assigned partitions again after this member's first join. */
  rebalances: number
  /** True while a batch waits for the store to confirm (reading is paused meanwhile). */
  waitingForStore: boolean
}

/** No answer from any broker for this long: not connected (three long polls of kafkajs's 5 s). */
export const KAFKA_SILENCE_MS = 15_000
/** A rebalance longer than this makes the server not ready. */
export const KAFKA_REBALANCE_BOUND_MS = 30_000
/** Log ends are looked up at most this often, however often /metrics and /stats ask. */
const LAG_TTL_MS = 5_000
/** How long a status waits for the log ends before it says the lag is unknown. */
const LAG_WAIT_MS = 2_000
/** Bounds of one fetch: what the member holds at most while a batch waits for the store. */
export const KAFKA_FETCH = { maxBytesPerPartition: 4 << 20, maxBytes: 16 << 20 }
const NEWLINE = Buffer.from('\n')

/**
 * One consumer group member. `start()` joins the group and reads; `stop()` lets the running batch
 * finish (flushed and committed), then leaves the group.
 * @example
 * const input = new KafkaInput(consumer, { brokers: ['kafka:9092'], topics: ['access'], group: 'loghour', from: 'earliest', clientId: 'loghour-a', commit: true }, events)
 * void input.start()
 */
export class KafkaInput {
  readonly #consumer: LogConsumer
  readonly #options: KafkaInputOptions
  readonly #events: KafkaInputEvents
  #kafka: Consumer | undefined
  #admin: Admin | undefined
  /** One line stream per assigned partition: a partition's records never mix with another's. */
  readonly #streams = new Map<string, NativeLineStream>()
  #state: KafkaStatus['state'] = 'connecting'
  #stateSince = Date.now()
  #lastAnswer = Date.now()
  #silent = false
  #silentSince = 0
  #problem: string | null = null
  #assigned: { topic: string; partition: number }[] = []
  #joins = 0
  /** Per partition (`topic/partition`): the next offset confirmed (committed, or counted with commit off). */
  readonly #positions = new Map<string, bigint>()
  #lag: { at: number; ends: Map<string, bigint>; committed: Map<string, bigint> } | undefined
  #lagReading: Promise<void> | undefined
  readonly #counts = { records: 0, bytes: 0, commits: 0, commitFailures: 0 }
  #storeWait = 0
  #watch: NodeJS.Timeout | undefined
  #kafkajs: typeof import('kafkajs') | undefined
  /** Why the input stopped for good, if it did. */
  #halted: string | undefined

  constructor(consumer: LogConsumer, options: KafkaInputOptions, events: KafkaInputEvents) {
    this.#consumer = consumer
    this.#options = options
    this.#events = events
  }

  /** Loads the Kafka client; rejects, saying how to install it, when it is not there. */
  async load(): Promise<void> {
    try {
      this.#kafkajs = await import('kafkajs')
    } catch {
      throw new Error('--kafka needs the kafkajs package next to loghour: npm install kafkajs@2.2.4')
    }
  }

  /** Joins the group and reads (after {@link KafkaInput.load}); rejects only if the input cannot go on. */
  async start(): Promise<void> {
    try {
      await this.#run()
    } catch (error) {
      this.#halted = (error as Error).message
      this.#enter('stopped')
      throw error
    }
  }

  async #run(): Promise<void> {
    if (!this.#kafkajs) await this.load()
    const kafkajs = this.#kafkajs!
    const { tls, sasl } = this.#options
    // kafkajs logs nothing of its own; its errors become the reason /readyz gives.
    const logCreator = () => (entry: { level: number; log: { message: string; error?: string } }) => {
      if (entry.level <= kafkajs.logLevel.WARN)
        this.#problem = entry.log.error ? `${entry.log.message}: ${entry.log.error}` : entry.log.message
    }
    const client: KafkaClient = new kafkajs.Kafka({
      clientId: this.#options.clientId,
      brokers: this.#options.brokers,
      logLevel: kafkajs.logLevel.WARN,
      logCreator,
      ...(tls === undefined ? {} : { ssl: tls }),
      ...(sasl === undefined ? {} : { sasl: sasl as SASLOptions }),
      // Brokers unreachable at start or later: keep trying, never exit.
      retry: { retries: Number.MAX_SAFE_INTEGER, maxRetryTime: 5000 },
    })
    const kafka = client.consumer({
      groupId: this.#options.group,
      allowAutoTopicCreation: false,
      ...KAFKA_FETCH,
      retry: { retries: Number.MAX_SAFE_INTEGER, maxRetryTime: 5000, restartOnFailure: async () => true },
    })
    this.#kafka = kafka
    this.#admin = client.admin({ retry: { retries: 0 } })
    const answered = () => {
      this.#lastAnswer = Date.now()
      if (this.#silent) {
        this.#silent = false
        this.#problem = null
        this.#events.reachable(Date.now() - this.#silentSince)
      }
    }
    const { events } = kafka
    kafka.on(events.REQUEST, answered)
    kafka.on(events.GROUP_JOIN, ({ payload }) => {
      answered()
      this.#joins++
      this.#enter('consuming')
      this.#assigned = Object.entries(payload.memberAssignment).flatMap(([topic, partitions]) =>
        partitions.map((partition) => ({ topic, partition })),
      )
      this.#events.assigned(this.#assigned)
    })
    kafka.on(events.REBALANCING, () => this.#enter('rebalancing'))
    kafka.on(events.CRASH, ({ payload }) => {
      this.#problem = payload.error.message
      this.#enter('joining')
    })
    kafka.on(events.CONNECT, () => {
      if (this.#state === 'connecting') this.#enter('joining')
    })
    // Looks once a second whether the brokers went silent (one log line per episode).
    this.#watch = setInterval(() => {
      if (!this.#silent && Date.now() - this.#lastAnswer > KAFKA_SILENCE_MS) {
        this.#silent = true
        this.#silentSince = this.#lastAnswer
        this.#events.unreachable(this.#problem ?? `no answer from ${this.#options.brokers.join(', ')}`)
      }
    }, 1000)
    this.#watch.unref()
    await kafka.connect()
    for (const topic of this.#options.topics) await kafka.subscribe({ topic, fromBeginning: this.#options.from === 'earliest' })
    await kafka.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      // Partitions' batches overlap: one waits for its store confirmation while another is counted.
      partitionsConsumedConcurrently: 3,
      eachBatch: (payload) => this.#batch(payload),
    })
  }

  #enter(state: KafkaStatus['state']): void {
    if (state !== this.#state) this.#stateSince = Date.now()
    this.#state = state
  }

  /** Counts a batch, waits for the store to confirm it, then commits past its last message. */
  async #batch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const key = `${batch.topic}/${batch.partition}`
    let stream = this.#streams.get(key)
    if (stream === undefined) {
      stream = this.#consumer[OPEN_NATIVE_STREAM]()
      this.#streams.set(key, stream)
    }
    if (batch.messages.length === 0 || !isRunning() || isStale()) return
    // The batch goes to the core as one buffer (one native call, not one per message); a message
    // is a record boundary: a value without its own newline ends there.
    const parts: Buffer[] = []
    let bytes = 0
    for (const message of batch.messages) {
      const value = message.value
      if (value && value.length > 0) {
        parts.push(value)
        bytes += value.length
      }
      if (!value || value.length === 0 || value[value.length - 1] !== 0x0a) parts.push(NEWLINE)
    }
    stream.write(Buffer.concat(parts))
    this.#counts.records += batch.messages.length
    this.#counts.bytes += bytes
    // Heartbeats go on while the store confirms (a Redis outage must not cost the partitions); no
    // other batch is fetched meanwhile, so reading pauses rather than buffers.
    const beating = setInterval(() => void heartbeat().catch(() => {}), 1000)
    let waitingSince: number | undefined
    try {
      for (;;) {
        try {
          await this.#consumer.flush()
          break
        } catch (error) {
          if (waitingSince === undefined) {
            waitingSince = Date.now()
            if (this.#storeWait++ === 0) this.#events.storeWaiting(error as Error)
          }
          // Revoked or stopping: not committed, so whoever reads the partition next reads it again.
          if (!isRunning() || isStale()) return
          await new Promise((resolve) => setTimeout(resolve, 1000))
        }
      }
    } finally {
      clearInterval(beating)
      if (waitingSince !== undefined && --this.#storeWait === 0) this.#events.storeConfirmed(Date.now() - waitingSince)
    }
    const last = batch.messages[batch.messages.length - 1]!.offset
    resolveOffset(last)
    const next = BigInt(last) + 1n
    if (!this.#options.commit) {
      this.#positions.set(key, next)
      return
    }
    const offset = next.toString()
    try {
      await this.#kafka!.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset }])
    } catch (error) {
      this.#counts.commitFailures++
      this.#events.commitFailed(error as Error)
      return
    }
    this.#positions.set(key, next)
    this.#counts.commits++
    this.#events.committed({ topic: batch.topic, partition: batch.partition, offset })
  }

  /** Looks up the log ends and the group's committed offsets, at most every {@link LAG_TTL_MS}. */
  async #readLag(): Promise<void> {
    if (this.#lag && Date.now() - this.#lag.at < LAG_TTL_MS) return
    if (this.#silent) {
      this.#lag = undefined // no broker answers: unknown rather than stale
      return
    }
    this.#lagReading ??= (async () => {
      const admin = this.#admin
      if (!admin) return
      try {
        await admin.connect()
        const ends = new Map<string, bigint>()
        const committed = new Map<string, bigint>()
        for (const topic of this.#options.topics) {
          for (const p of await admin.fetchTopicOffsets(topic)) ends.set(`${topic}/${p.partition}`, BigInt(p.high))
        }
        const groups = await admin.fetchOffsets({ groupId: this.#options.group, topics: this.#options.topics })
        for (const { topic, partitions } of groups) {
          for (const p of partitions) if (p.offset !== '-1') committed.set(`${topic}/${p.partition}`, BigInt(p.offset))
        }
        this.#lag = { at: Date.now(), ends, committed }
      } catch {
        this.#lag = undefined // unknown rather than stale
      }
    })().finally(() => (this.#lagReading = undefined))
    // The client retries a broker that went away: /metrics and /stats do not wait for it.
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.#lag = undefined
        resolve()
      }, LAG_WAIT_MS)
    })
    await Promise.race([this.#lagReading, late]).finally(() => clearTimeout(timer))
  }

  /** The input's state now (log ends at most {@link LAG_TTL_MS} old). */
  async status(): Promise<KafkaStatus> {
    if (this.#state !== 'stopped') await this.#readLag()
    const partitions = this.#assigned.map(({ topic, partition }): KafkaPartitionStatus => {
      const key = `${topic}/${partition}`
      const local = this.#positions.get(key)
      const end = this.#lag?.ends.get(key)
      const from = local ?? this.#lag?.committed.get(key)
      const lag = end === undefined || from === undefined ? null : Number(end > from ? end - from : 0n)
      return { topic, partition, position: local?.toString() ?? null, logEnd: end?.toString() ?? null, lag }
    })
    const lags = partitions.map((p) => p.lag)
    return {
      group: this.#options.group,
      topics: this.#options.topics,
      state: this.#state,
      connected: this.#state !== 'connecting' && Date.now() - this.#lastAnswer <= KAFKA_SILENCE_MS,
      problem: this.#problem,
      partitions,
      // Before the first assignment nothing is known; after it, no partitions is no lag.
      lag: this.#joins === 0 || lags.includes(null) ? null : (lags as number[]).reduce((a, b) => a + b, 0),
      ...this.#counts,
      rebalances: Math.max(this.#joins - 1, 0),
      waitingForStore: this.#storeWait > 0,
    }
  }

  /** Why the input makes the server not ready, or null. */
  notReady(): string | null {
    const since = Math.round((Date.now() - this.#stateSince) / 1000)
    const brokers = this.#options.brokers.join(', ')
    const why = this.#problem === null ? '' : ` (${this.#problem})`
    if (this.#halted !== undefined) return `the Kafka input stopped: ${this.#halted}`
    if (this.#state === 'connecting') return `the Kafka consumer has no broker connection yet (${brokers})${why}`
    if (this.#silent) {
      return `no answer from the Kafka brokers (${brokers}) for ${Math.round((Date.now() - this.#silentSince) / 1000)} s${why}; retrying`
    }
    if (this.#state === 'joining' && this.#joins === 0) return `the Kafka consumer has not joined group ${this.#options.group} yet${why}`
    if ((this.#state === 'rebalancing' || this.#state === 'joining') && Date.now() - this.#stateSince > KAFKA_REBALANCE_BOUND_MS) {
      return `Kafka group ${this.#options.group} has been rebalancing for ${since} s${why}`
    }
    return null
  }

  /**
   * Finishes the running batch (flushed and committed), then leaves the group; gives up after
   * `timeoutMs` (no broker answers: nothing more can be committed, and what was not is read again).
   */
  async stop(timeoutMs: number): Promise<void> {
    if (this.#watch) clearInterval(this.#watch)
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(timeoutMs, 1))))
    const leaving = Promise.all([this.#kafka?.disconnect(), this.#admin?.disconnect()]).catch(() => {})
    await Promise.race([leaving, late]).finally(() => clearTimeout(timer))
    this.#enter('stopped')
    for (const stream of this.#streams.values()) stream.end()
    this.#streams.clear()
  }
}
