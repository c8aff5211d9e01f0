// The Kafka input of loghour-server (--kafka): a member of a consumer group whose partitions each
// feed a native line stream of the consumer, and whose offsets are committed only once the store
// confirmed a flush that holds every record before them (at least once, end to end; recounting a
// record cannot change a HyperLogLog). Loaded only with --kafka: `import 'loghour'` never loads
// a Kafka client.
import type { Consumer, EachBatchPayload, Kafka as KafkaClient } from 'kafkajs'
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
}

/** What the input reports to the server's log. */
export interface KafkaInputEvents {
  /** Offsets committed after a confirmed flush. */
  committed(info: { topic: string; partition: number; offset: string }): void
  /** A flush or a commit failed; the batch is read again after the consumer restarts. */
  failed(error: Error): void
}

const NEWLINE = Buffer.from('\n')

/**
 * One consumer group member. `start()` joins the group and reads; `stop()` lets the running batch
 * finish (flushed and committed), then leaves the group.
 */
export class KafkaInput {
  readonly #consumer: LogConsumer
  readonly #options: KafkaInputOptions
  readonly #events: KafkaInputEvents
  #kafka: Consumer | undefined
  /** One line stream per assigned partition: a partition's records never mix with another's. */
  readonly #streams = new Map<string, NativeLineStream>()

  constructor(consumer: LogConsumer, options: KafkaInputOptions, events: KafkaInputEvents) {
    this.#consumer = consumer
    this.#options = options
    this.#events = events
  }

  async start(): Promise<void> {
    let kafkajs: typeof import('kafkajs')
    try {
      kafkajs = await import('kafkajs')
    } catch {
      throw new Error('--kafka needs the kafkajs package next to loghour: npm install kafkajs@2.2.4')
    }
    const client: KafkaClient = new kafkajs.Kafka({
      clientId: this.#options.clientId,
      brokers: this.#options.brokers,
      logLevel: kafkajs.logLevel.NOTHING,
      // Brokers unreachable at start or later: keep trying, never exit.
      retry: { retries: Number.MAX_SAFE_INTEGER, maxRetryTime: 5000 },
    })
    const kafka = client.consumer({
      groupId: this.#options.group,
      allowAutoTopicCreation: false,
      retry: { retries: Number.MAX_SAFE_INTEGER, maxRetryTime: 5000, restartOnFailure: async () => true },
    })
    this.#kafka = kafka
    await kafka.connect()
    for (const topic of this.#options.topics) await kafka.subscribe({ topic, fromBeginning: this.#options.from === 'earliest' })
    await kafka.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: (payload) => this.#batch(payload),
    })
  }

  /** Counts a batch, waits for the store to confirm it, then commits past its last message. */
  async #batch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const key = `${batch.topic}/${batch.partition}`
    let stream = this.#streams.get(key)
    if (stream === undefined) {
      stream = this.#consumer[OPEN_NATIVE_STREAM]()
      this.#streams.set(key, stream)
    }
    for (const message of batch.messages) {
      if (!isRunning() || isStale()) return
      const value = message.value ?? Buffer.alloc(0)
      if (value.length > 0) stream.write(value)
      // A message is a record boundary: a value without its own newline ends here.
      if (value.length === 0 || value[value.length - 1] !== 0x0a) stream.write(NEWLINE)
    }
    if (batch.messages.length === 0) return
    // Heartbeats go on while the store confirms (a Redis outage must not cost the partitions).
    const beating = setInterval(() => void heartbeat().catch(() => {}), 1000)
    try {
      await this.#consumer.flush()
    } catch (error) {
      this.#events.failed(error as Error)
      throw error // kafkajs restarts the consumer: the batch is read again from the last commit
    } finally {
      clearInterval(beating)
    }
    const last = batch.messages[batch.messages.length - 1]!.offset
    resolveOffset(last)
    if (!this.#options.commit) return
    const offset = (BigInt(last) + 1n).toString()
    await this.#kafka!.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset }])
    this.#events.committed({ topic: batch.topic, partition: batch.partition, offset })
  }

  /** Finishes the running batch (flushed and committed), then leaves the group. */
  async stop(): Promise<void> {
    await this.#kafka?.disconnect()
    for (const stream of this.#streams.values()) stream.end()
    this.#streams.clear()
  }
}
