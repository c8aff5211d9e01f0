// Prometheus metrics of a running server, through prom-client. Counters are read from the native
// line counts and the server's connection counters when Prometheus scrapes, never incremented
// per line: scraping costs nothing while nobody asks.
import { Counter, collectDefaultMetrics, Gauge, Histogram, type MetricObjectWithValues, type MetricValue, Registry } from 'prom-client'
import type { LogConsumer } from './consumer.js'
import type { HttpSlots } from './http-slots.js'
import type { IngestLimits } from './ingest.js'
import type { KafkaStatus } from './kafka.js'
import type { LogServer } from './server.js'
import { INVALID_REASONS, peakOf, type Stats } from './stats.js'

/**
 * A gauge without labels that has no sample while its value is unknown: prom-client's own would
 * show 0 (its `reset()` sets a label-less gauge to 0), a made-up answer during an outage.
 */
class AnswerGauge extends Gauge {
  readonly #read: () => Promise<number | null>
  constructor({ read, ...configuration }: { name: string; help: string; registers: Registry[]; read: () => Promise<number | null> }) {
    super(configuration)
    this.#read = read
  }
  override async get(): Promise<MetricObjectWithValues<MetricValue<string>>> {
    const value = await this.#read()
    const metric = await super.get()
    return { ...metric, values: value === null ? [] : [{ value, labels: {} }] }
  }
}

/** loghour's metrics and the process's, and what HTTP ingest tells them. */
export interface Metrics {
  registry: Registry
  /** One answered POST /ingest, POST /v1/logs or OTLP/gRPC call (`endpoint` `grpc`). */
  ingested(endpoint: string, status: number): void
}

/** What the HTTP listener tells the metrics: its connection slots and its ingest bodies. */
export interface HttpCounters {
  slots: HttpSlots
  limits: IngestLimits
}

/** A registry with loghour's metrics and the process's, for `consumer` and `server` (and the HTTP listener's). */
export function createMetrics(
  consumer: LogConsumer,
  server: LogServer,
  http?: HttpCounters,
  kafka?: { status(): Promise<KafkaStatus> },
): Metrics {
  const registry = new Registry()
  // One read of the answer per scrape, shared by the gauges that show it (null: the store
  // cannot answer now; the gauges are then absent rather than wrong).
  let reading: Promise<Stats | null> | undefined
  const answer = () => {
    reading ??= consumer.stats().then(
      (s) => s,
      () => null,
    )
    const current = reading
    // The gauges of one scrape ask within the same turn; the next scrape reads afresh.
    void current.then(() =>
      setImmediate(() => {
        if (reading === current) reading = undefined
      }),
    )
    return current
  }
  const hours = async () => (await answer())?.hours ?? null
  collectDefaultMetrics({ register: registry })
  // prom-client names these gauges with a counter's `_total` suffix, which promtool refuses.
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
    registry.removeSingleMetric(name)
  }
  const registers = [registry]

  // A counter whose value is read at scrape time: reset, then set to the total.
  const readCounter = (name: string, help: string, labelNames: string[], read: (c: Counter) => void) =>
    new Counter({
      name,
      help,
      labelNames,
      registers,
      collect() {
        this.reset()
        read(this)
      },
    })

  readCounter('loghour_lines_total', 'Non-blank lines read, and blank ones, by outcome.', ['outcome'], (c) => {
    const { lines } = consumer.lineCounts()
    for (const outcome of ['counted', 'skipped', 'invalid', 'blank'] as const) c.inc({ outcome }, lines[outcome])
  })
  readCounter('loghour_invalid_lines_total', 'Invalid lines by reason.', ['reason'], (c) => {
    const { invalid } = consumer.lineCounts()
    for (const reason of INVALID_REASONS) c.inc({ reason }, invalid[reason])
  })
  readCounter(
    'loghour_streams_total',
    'Input streams (connections, HTTP bodies) by the reading --format auto decided on.',
    ['reading'],
    (c) => {
      for (const [reading, streams] of Object.entries(consumer.streamReadings().readings)) c.inc({ reading }, streams)
    },
  )
  readCounter('loghour_unreadable_streams_total', 'Input streams whose first records were mostly unreadable (--format auto).', [], (c) =>
    c.inc(consumer.streamReadings().unreadable),
  )
  readCounter('loghour_received_bytes_total', 'Bytes received on the TCP input.', [], (c) => c.inc(server.counters().receivedBytes))
  readCounter('loghour_connections_total', 'Connections accepted.', [], (c) => c.inc(server.counters().accepted))
  readCounter('loghour_connections_refused_total', 'Connections refused (limit reached, or no file descriptor).', [], (c) =>
    c.inc(server.counters().refused),
  )
  readCounter('loghour_connections_shed_total', 'Connections closed because unfinished lines went over the budget.', [], (c) =>
    c.inc(server.counters().shed),
  )
  readCounter(
    'loghour_tls_handshake_failures_total',
    'TLS handshakes on the input that failed (no or an untrusted client certificate, plain text, a timeout).',
    [],
    (c) => c.inc(server.counters().tlsHandshakeFailures),
  )
  new Gauge({
    name: 'loghour_connections_open',
    help: 'Open connections.',
    registers,
    collect() {
      this.set(server.counters().active)
    },
  })
  new Gauge({
    name: 'loghour_buffered_bytes',
    help: 'Bytes of unfinished lines held by open connections.',
    registers,
    collect() {
      this.set(server.counters().bufferedBytes)
    },
  })
  new Gauge({
    name: 'loghour_hour_users',
    help: 'Distinct (day, user) pairs that hit a 5xx at this hour on working days.',
    labelNames: ['hour'],
    registers,
    async collect() {
      const now = await hours()
      this.reset()
      for (const [hour, users] of (now ?? []).entries()) this.set({ hour: String(hour) }, users)
    },
  })
  new AnswerGauge({
    name: 'loghour_peak_hour',
    help: 'The hour (0-23) with the most distinct users, -1 when none; absent while the store cannot answer.',
    registers,
    read: async () => {
      const now = await hours()
      return now === null ? null : (peakOf(now).peakHour ?? -1)
    },
  })
  if (consumer.options.allUsers) shareMetrics(registers, answer)
  if (consumer.options.groupBy !== undefined) groupMetrics(registers, answer, consumer)
  if (kafka) kafkaMetrics(registers, kafka)
  new Gauge({
    name: 'loghour_store_up',
    help: '1 while the store receives the changes, 0 during an outage.',
    registers,
    collect() {
      this.set(consumer.storeReachable ? 1 : 0)
    },
  })
  if (http) {
    readCounter(
      'loghour_http_connections_dropped_total',
      'HTTP connections and requests not served: evicted (idle or incomplete, to make room), refused (every slot serving), busy (503 at once).',
      ['reason'],
      (c) => {
        const { evicted, refused, busy } = http.slots.counters()
        c.inc({ reason: 'evicted' }, evicted)
        c.inc({ reason: 'refused' }, refused)
        c.inc({ reason: 'busy' }, busy)
      },
    )
    new Gauge({
      name: 'loghour_http_connections_open',
      help: 'Open connections of the HTTP listener.',
      registers,
      collect() {
        this.set(http.slots.counters().open)
      },
    })
    new Gauge({
      name: 'loghour_ingest_decoder_bytes',
      help: 'Decoder memory charged to the compressed POST /ingest and /v1/logs bodies being read (at most 64 MiB).',
      registers,
      collect() {
        this.set(http.limits.decoders.used)
      },
    })
  }
  new Gauge({
    name: 'loghour_store_replicas_missing',
    help: 'Replicas a shard (its master) fell short of at its last WAIT; merges there are kept until they are confirmed. Absent when none is short.',
    labelNames: ['shard'],
    registers,
    collect() {
      this.reset()
      for (const { shard, required, acknowledged } of consumer.replicaShortfalls()) this.set({ shard }, required - acknowledged)
    },
  })
  const duration = new Histogram({
    name: 'loghour_flush_duration_seconds',
    help: 'Duration of flushes the store confirmed.',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers,
  })
  const failures = new Counter({ name: 'loghour_flush_failures_total', help: 'Scheduled flushes the store did not confirm.', registers })
  consumer.on('flushed', ({ ms }) => duration.observe(ms / 1000))
  consumer.on('flushFailed', () => failures.inc())
  const ingest = new Counter({
    name: 'loghour_ingest_requests_total',
    help: 'POST /ingest requests by the status answered (400 also for bodies cut short).',
    labelNames: ['code'],
    registers,
  })
  const otlp = new Counter({
    name: 'loghour_otlp_requests_total',
    help: 'OTLP logs requests (POST /v1/logs: transport http; LogsService/Export: grpc) by the HTTP status answered (for gRPC, the HTTP status its grpc-status stands for: 200, 400, 401, 413, 503, …).',
    labelNames: ['transport', 'code'],
    registers,
  })
  return {
    registry,
    ingested: (endpoint, status) => {
      if (endpoint === '/ingest') ingest.inc({ code: String(status) })
      else otlp.inc({ transport: endpoint === 'grpc' ? 'grpc' : 'http', code: String(status) })
    },
  }
}

/** With every user counted: every user per hour, the share hurt, and the hour of the largest share. */
function shareMetrics(registers: Registry[], answer: () => Promise<Stats | null>): void {
  const perHour = (name: string, help: string, values: (s: Stats) => (number | null)[] | undefined) =>
    new Gauge({
      name,
      help,
      labelNames: ['hour'],
      registers,
      async collect() {
        const now = await answer()
        this.reset()
        for (const [hour, value] of ((now && values(now)) ?? []).entries()) if (value !== null) this.set({ hour: String(hour) }, value)
      },
    })
  perHour(
    'loghour_hour_all_users',
    'Distinct (day, user) pairs at this hour on working days, whatever the status (--all-users).',
    (s) => s.users,
  )
  perHour('loghour_hour_share', "Share of the hour's users who hit a 5xx (absent for an hour without users).", (s) => s.share)
  new AnswerGauge({
    name: 'loghour_share_hour',
    help: 'The hour (0-23) with the largest share hurt among hours with at least --min-users users, -1 when none; absent while the store cannot answer.',
    registers,
    read: async () => {
      const now = await answer()
      return now === null ? null : (now.shareHour?.hour ?? -1)
    },
  })
}

/** With groups: the users of the top values only (at most --top label values), how many values, and (other)'s records. */
function groupMetrics(registers: Registry[], answer: () => Promise<Stats | null>, consumer: LogConsumer): void {
  new Gauge({
    name: 'loghour_group_users',
    help: 'Distinct (day, user) pairs with a 5xx over the 24 hours, for the --top values of --group-by.',
    labelNames: ['group'],
    registers,
    async collect() {
      const now = await answer()
      this.reset()
      for (const { value, users } of now?.groups ?? []) this.set({ group: value }, users)
    },
  })
  new Gauge({
    name: 'loghour_group_values',
    help: 'Values of --group-by held (with (none) and (other)).',
    registers,
    async collect() {
      this.set((await answer())?.groupValues ?? 0)
    },
  })
  new Counter({
    name: 'loghour_group_other_records_total',
    help: 'Counted records whose --group-by value came after --max-groups others, counted in (other).',
    registers,
    collect() {
      this.reset()
      this.inc(consumer.groupInfo()?.otherRecords ?? 0)
    },
  })
}

/** With --kafka: the input's counters, connection and lag (the status read once per scrape). */
function kafkaMetrics(registers: Registry[], kafka: { status(): Promise<KafkaStatus> }): void {
  let reading: Promise<KafkaStatus> | undefined
  const status = () => {
    reading ??= kafka.status().finally(() => setImmediate(() => (reading = undefined)))
    return reading
  }
  const counter = (name: string, help: string, read: (s: KafkaStatus) => number) =>
    new Counter({
      name,
      help,
      registers,
      async collect() {
        this.reset()
        this.inc(read(await status()))
      },
    })
  counter('loghour_kafka_records_total', 'Kafka messages read (a batch read again after a store failure counts again).', (s) => s.records)
  counter('loghour_kafka_bytes_total', 'Bytes of Kafka message values read.', (s) => s.bytes)
  counter('loghour_kafka_commits_total', 'Offset commits, each after the store confirmed what it covers.', (s) => s.commits)
  counter(
    'loghour_kafka_commit_failures_total',
    'Offset commits the brokers refused (what they covered is merged; it is read again).',
    (s) => s.commitFailures,
  )
  counter(
    'loghour_kafka_rebalances_total',
    "Times the group assigned this server's partitions again after its first join.",
    (s) => s.rebalances,
  )
  new Gauge({
    name: 'loghour_kafka_lag',
    help: 'Messages of an assigned partition not yet confirmed (log end minus the confirmed offset); absent while unknown.',
    labelNames: ['topic', 'partition'],
    registers,
    async collect() {
      this.reset()
      for (const p of (await status()).partitions) if (p.lag !== null) this.set({ topic: p.topic, partition: String(p.partition) }, p.lag)
    },
  })
  new Gauge({
    name: 'loghour_kafka_partitions',
    help: 'Partitions assigned to this server.',
    registers,
    async collect() {
      this.set((await status()).partitions.length)
    },
  })
  new Gauge({
    name: 'loghour_kafka_connected',
    help: '1 while a Kafka broker answered within the last 15 s, else 0.',
    registers,
    async collect() {
      this.set((await status()).connected ? 1 : 0)
    },
  })
}
