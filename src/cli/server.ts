#!/usr/bin/env node
// loghour-server: the original service, in place. Listens for access-log records over TCP (their
// format detected per connection unless set) and keeps the hourly counts in Redis (REDIS_ADDRESS) or in memory.
import { hostname } from 'node:os'
import { Command, CommanderError } from 'commander'
import type { Logger } from 'pino'
import { version } from '../../package.json'
import {
  type KafkaAccess,
  readDotenv,
  readHttpTls,
  readInputTls,
  readKafkaAccess,
  readRedisTls,
  resolveServerSettings,
  type ServerSettings,
  SettingError,
  type SettingFlags,
  settingFlags,
  settingOption,
} from '../config.js'
import { createConsumer, type LogConsumer } from '../consumer.js'
import { shortened } from '../hints.js'
import { type HttpEndpoints, startHttp } from '../http.js'
import { IngestLimits, type IngestOutcome } from '../ingest.js'
import type { KafkaInput } from '../kafka.js'
import { createLogger } from '../logger.js'
import { HOURS } from '../native.js'
import { OptionError } from '../options.js'
import type { OtlpGrpcServer } from '../otlp-grpc.js'
import { buildReport } from '../report.js'
import { describeReading, setReading } from '../schemas.js'
import type { LogServer } from '../server.js'
import { FLAG_SETTINGS, type FlagKey, type InputTls, type OptionGroup, optionSettings, type RedisTls } from '../settings.js'
import { peakOf } from '../stats.js'
import { redactAddress } from '../stores/redact.js'
import { exitOnBrokenPipe } from './args.js'

/** `--help`'s headings, the most used first; every flag is under one (test/cli-server-help). */
export const HELP_TOPICS: readonly (readonly [heading: string, keys: readonly FlagKey[]])[] = [
  ['Where it listens:', ['host', 'port', 'http', 'otlpGrpc']],
  [
    'How records are read (default: each connection detects its format):',
    ['format', 'schema', 'fields', 'timeUnit', 'timezone', 'sourceTimezone', 'envelope', 'framing', 'maxLineBytes'],
  ],
  [
    'Where the counts go (default: memory):',
    [
      'redis',
      'redisCluster',
      'keyPrefix',
      'flushIntervalMs',
      'redisTimeoutMs',
      'minReplicas',
      'daily',
      'retainDays',
      'snapshot',
      'redisCa',
      'redisCert',
      'redisKey',
    ],
  ],
  [
    'Kafka input (a consumer group; offsets committed once the store confirmed):',
    ['kafka', 'kafkaTopic', 'kafkaGroup', 'kafkaFrom', 'kafkaTls', 'kafkaCa', 'kafkaCert', 'kafkaKey', 'kafkaSasl', 'kafkaUsername'],
  ],
  ['The share of users hurt, and where:', ['allUsers', 'usersKeyPrefix', 'minUsers', 'groupBy', 'maxGroups', 'top']],
  ['Logging and the periodic answer:', ['statsIntervalMs', 'logLevel', 'logFormat', 'logFile', 'logRotation', 'logRetention']],
  [
    'HTTP endpoints and POST /ingest (with --http):',
    ['httpTlsCert', 'httpTlsKey', 'ingestToken', 'ingestOrigins', 'ingestAck', 'maxBodyBytes'],
  ],
  ['TLS on the TCP input:', ['tlsCert', 'tlsKey', 'tlsCa', 'tlsClientAuth']],
  ['Limits and shutdown:', ['maxConnections', 'idleTimeoutMs', 'maxBufferedBytes', 'drainTimeoutMs', 'closeTimeoutMs', 'portableReads']],
]

function parseFlags(argv: string[]): SettingFlags {
  const program = new Command()
    .name('loghour-server')
    .description(
      'Counts the distinct users who hit 5xx errors at each hour of the working day, from access logs sent over TCP (nginx, Caddy, JSON… the format is detected).',
    )
    .addHelpText(
      'after',
      '\nEach setting is taken from its flag, else its environment variable, else .env in the working directory, else the default.',
    )
    .version(version, '-V, --version')
    .exitOverride()
    .configureOutput({
      outputError: (text, write) => write(`loghour-server: ${text.replace(/^error: /, '').replace(/\n\(Did you mean/, ' (did you mean')}`),
    })
    .helpOption('-h, --help', 'show this help')
  const keys = FLAG_SETTINGS.map((s) => s.key as FlagKey)
  for (const [heading, topic] of HELP_TOPICS) for (const key of topic) program.addOption(settingOption(key).helpGroup(heading))
  for (const key of keys.filter((k) => !HELP_TOPICS.some(([, topic]) => topic.includes(k)))) program.addOption(settingOption(key))
  program.parse(argv)
  return settingFlags(keys, program.opts())
}

/** The server's settings that are library options of `group`, under their option names. */
function optionsOf(group: OptionGroup, settings: ServerSettings): Record<string, unknown> {
  return Object.fromEntries(optionSettings(group).flatMap((s) => (s.key in settings ? [[s.key, settings[s.key as FlagKey]]] : [])))
}

function describeStore(settings: ServerSettings): string {
  const keys = `keys ${settings.keyPrefix}0..${HOURS - 1}${settings.allUsers ? ` and ${settings.usersKeyPrefix}0..${HOURS - 1}` : ''}`
  if (settings.redis !== undefined) return `Redis ${redactAddress(settings.redis)}, ${keys}`
  if (settings.redisCluster !== undefined) return `Redis Cluster ${settings.redisCluster.map(redactAddress).join(',')}, ${keys}`
  return settings.snapshot ? `memory, snapshot ${settings.snapshot}` : 'memory'
}

function describeDaily(settings: ServerSettings): string {
  return settings.daily ? `, per-day keys kept ${settings.retainDays} days` : ''
}

function describeTls(tls: InputTls | undefined): string {
  if (tls === undefined) return ''
  return tls.clientAuth ? ' over TLS, client certificates required' : ' over TLS'
}

type Counts = ReturnType<LogConsumer['lineCounts']> & { at: number }

async function report(consumer: LogConsumer, server: LogServer, log: Logger, last: { value: Counts }): Promise<void> {
  const now = { ...consumer.lineCounts(), at: Date.now() }
  let hours: number[] | null = null
  try {
    hours = (await consumer.stats()).hours
  } catch (error) {
    log.warn({ err: error }, `hour counts unavailable: ${(error as Error).message}`)
  }
  const r = buildReport(hours, hours ? peakOf(hours).peakHour : null, now, last.value)
  log.info({ hours }, r.peak)
  log.info(r.table)
  log.info({ lines: now.lines, invalid: now.invalid, connections: server.counters() }, r.throughput)
  last.value = now
}

/** Warns about connections that cannot be accepted, at most every 10 s (an fd shortage repeats fast). */
/** The reading of the settings: `auto` with what is fixed, or the reading they set; and the zone. */
function describeReadingSettings(settings: ServerSettings): string {
  const zone = settings.timezone === undefined ? 'hours as written' : `hours in ${settings.timezone}`
  if (settings.format !== 'auto') return `${describeReading(setReading(settings))}, ${zone}`
  const fixed = [
    settings.schema === undefined ? '' : `schema ${settings.schema}`,
    settings.envelope === undefined ? '' : `envelope ${settings.envelope}`,
    settings.framing === undefined ? '' : `framing ${settings.framing}`,
  ].filter((s) => s !== '')
  return `auto${fixed.length > 0 ? ` (${fixed.join(', ')})` : ''}, each connection decides from its first records, ${zone}`
}

/** A connection's lines are mostly unreadable: a warning, at most one every 5 s for all connections. */
function watchUnreadable(server: LogServer, log: Logger): void {
  let lastAt = Number.NEGATIVE_INFINITY
  let suppressed = 0
  server.on('unreadable', (info) => {
    const now = Date.now()
    if (now - lastAt < 5_000) {
      suppressed++
      return
    }
    lastAt = now
    const sample = info.reading?.unreadable
    const more = suppressed > 0 ? ` (${suppressed} more such warnings suppressed)` : ''
    suppressed = 0
    log.warn(
      { connection: { remote: info.remote }, lines: info.lines, invalid: info.invalid, reading: info.reading },
      `${info.invalid} of ${info.lines} lines from ${info.remote} were invalid${info.reading ? `, read as ${describeReading(info.reading)}` : ''}${sample && sample.line !== '' ? `; first not read (${sample.reason}): ${shortened(sample.line)}` : ''}; set --format/--schema/--field to read them (docs/your-logs.md)${more}`,
    )
  })
}

function watchAccepts(server: LogServer, log: Logger): void {
  let warnedAt = 0
  server.on('acceptError', (error) => {
    if (Date.now() - warnedAt < 10_000) return
    warnedAt = Date.now()
    const hint =
      error.code === 'EMFILE' || error.code === 'ENFILE' ? '; raise the open-file limit (ulimit -n) or lower --max-connections' : ''
    log.warn(
      { err: error, refused: server.counters().refused },
      `cannot accept connections: ${error.message}${hint} (${server.counters().refused} refused so far)`,
    )
  })
}

/** A peer's failed handshakes are logged once a minute at most: a scanner must not flood the log. */
const HANDSHAKE_LOG_INTERVAL_MS = 60_000

/** Peers remembered for that; beyond it the oldest are forgotten (memory stays bounded). */
const HANDSHAKE_LOG_PEERS = 10_000

/**
 * Logs failed TLS handshakes (once per peer address per minute, with how many were not logged),
 * and re-reads the certificate files on SIGHUP: new handshakes use them, open connections go on.
 */
function watchTls(server: LogServer, settings: ServerSettings, log: Logger): void {
  const peers = new Map<string, { loggedAt: number; unlogged: number }>()
  server.on('tlsHandshakeFailed', (error, { remote }) => {
    const peer = remote.replace(/:\d+$/, '')
    const now = Date.now()
    const seen = peers.get(peer)
    if (seen && now - seen.loggedAt < HANDSHAKE_LOG_INTERVAL_MS) {
      seen.unlogged++
      return
    }
    peers.delete(peer)
    if (peers.size >= HANDSHAKE_LOG_PEERS) peers.delete(peers.keys().next().value!)
    peers.set(peer, { loggedAt: now, unlogged: 0 })
    const also = seen?.unlogged ? ` (and ${seen.unlogged} more from it in the last minute)` : ''
    log.warn(
      { peer, remote, code: (error as NodeJS.ErrnoException).code, tlsHandshakeFailures: server.counters().tlsHandshakeFailures },
      `TLS handshake failed from ${remote}: ${error.message}${also}`,
    )
  })
  process.on('SIGHUP', () => {
    try {
      server.reloadTls(readInputTls(settings)!)
      log.info(`SIGHUP: TLS certificates re-read from ${settings.tlsCert}; new connections use them, open ones go on`)
    } catch (error) {
      log.error({ err: error }, `SIGHUP: TLS certificates not reloaded, the previous ones stay in use: ${(error as Error).message}`)
    }
  })
}

/**
 * A failure to start, said once: one line on stderr (where a terminal or a supervisor shows it),
 * and, when the log goes to a file, one fatal record there too; never a stack trace.
 */
async function startFailed(log: Logger, settings: ServerSettings, message: string, error: unknown): Promise<void> {
  process.stderr.write(`loghour-server: ${message}\n`)
  if (settings.logFile === undefined) return
  log.fatal({ code: (error as NodeJS.ErrnoException).code }, message)
  await new Promise<void>((resolve) => log.flush(() => resolve())) // the file may still be opening
}

async function main(): Promise<number> {
  exitOnBrokenPipe()
  let settings: ServerSettings
  let redisTls: RedisTls | undefined
  let inputTls: InputTls | undefined
  let kafkaAccess: KafkaAccess | undefined
  try {
    const dotenv = readDotenv(process.cwd())
    settings = resolveServerSettings(parseFlags(process.argv), process.env, dotenv).settings
    redisTls = readRedisTls(settings)
    inputTls = readInputTls(settings)
    kafkaAccess = settings.kafka === undefined ? undefined : readKafkaAccess(settings, process.env, dotenv)
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2
    if (error instanceof SettingError) {
      process.stderr.write(`loghour-server: ${error.message}\n`)
      return 2
    }
    throw error
  }
  let log: Logger
  try {
    log = createLogger({
      level: settings.logLevel,
      format: settings.logFormat,
      file: settings.logFile,
      rotation: settings.logRotation,
      retention: settings.logRetention,
    })
  } catch (error) {
    process.stderr.write(`loghour-server: cannot write the log file ${settings.logFile}: ${(error as Error).message}\n`)
    return 1
  }
  // Loaded now, not while the first connection's lines arrive (it takes ~60 ms).
  if (settings.redis !== undefined || settings.redisCluster !== undefined) await import('ioredis')
  let consumer: LogConsumer
  try {
    consumer = createConsumer({
      ...optionsOf('consumer', settings),
      store:
        settings.redis !== undefined
          ? { redis: settings.redis, ...(redisTls ? { tls: redisTls } : {}) }
          : settings.redisCluster !== undefined
            ? { redisCluster: settings.redisCluster, ...(redisTls ? { tls: redisTls } : {}) }
            : 'memory',
    })
  } catch (error) {
    await startFailed(log, settings, (error as Error).message, error)
    return 1
  }
  consumer.on('storeDown', (error) =>
    log.error({ err: error }, `store unavailable, counting goes on and changes are kept in memory: ${error.message}`),
  )
  consumer.on('storeUp', ({ downtimeMs }) =>
    log.warn(`store reachable again after ${(downtimeMs / 1000).toFixed(1)} s; kept changes merged`),
  )
  consumer.on('storeReset', ({ reason, hours }) =>
    log.warn(
      { hours },
      `${reason}: merging everything this server counted since it started again (${hours} hour${hours === 1 ? '' : 's'})`,
    ),
  )
  consumer.on('flushFailed', (error) => log.debug({ err: error }, `flush not confirmed, changes kept: ${error.message}`))
  consumer.on('flushed', (info) =>
    log.debug(info, `flushed ${info.hours} hours and ${info.dayHours} day-hours (${info.bytes} bytes) in ${info.ms} ms`),
  )

  let server: LogServer
  try {
    server = await consumer.listen({ ...optionsOf('listen', settings), tls: inputTls })
  } catch (error) {
    if (error instanceof OptionError) {
      // Certificate material Node refuses (a key that does not match, bad PEM): a usage error.
      process.stderr.write(
        `loghour-server: cannot use the TLS certificate: ${error.message.replace(/^loghour: invalid option "tls": /, '')}\n`,
      )
      await consumer.close().catch(() => {})
      return 2
    }
    const message = `cannot listen on ${settings.host}:${settings.port}: ${(error as Error).message}`
    await startFailed(log, settings, message, error)
    await consumer.close().catch(() => {})
    return 1
  }
  watchAccepts(server, log)
  if (inputTls) watchTls(server, settings, log)
  if (server.maxConnections < settings.maxConnections) {
    log.warn(
      `the open-file limit leaves room for ${server.maxConnections} connections, not --max-connections ${settings.maxConnections}: more are refused; raise it (ulimit -n) to accept more`,
    )
  }
  server.on('connectionError', (error, connection) =>
    log.error({ err: error, connection }, `closed the connection from ${connection.remote} after an error in the core: ${error.message}`),
  )
  server.on('reading', (reading, connection) =>
    log.debug(
      { connection, reading },
      `connection from ${connection.remote} read as ${describeReading(reading)}${reading.detected ? ` (detected from ${reading.sampled} records, ${reading.readable} readable)` : ''}`,
    ),
  )
  watchUnreadable(server, log)
  server.on('connectionClosed', (c) =>
    log.debug(c, `connection closed: ${c.bytes} bytes in ${c.ms.toFixed(1)} ms${c.aborted ? ' (aborted)' : ''}`),
  )
  let kafka: KafkaInput | undefined
  if (settings.kafka !== undefined) {
    const { KafkaInput } = await import('../kafka.js')
    const where = settings.kafkaTopic?.join(',')
    kafka = new KafkaInput(
      consumer,
      {
        brokers: settings.kafka,
        topics: settings.kafkaTopic ?? [], // set whenever --kafka is (checked with the settings)
        group: settings.kafkaGroup,
        from: settings.kafkaFrom,
        clientId: `loghour-${hostname()}`,
        commit: settings.redis !== undefined || settings.redisCluster !== undefined || settings.snapshot !== undefined,
        ...kafkaAccess,
      },
      {
        committed: (info) => log.debug(info, `Kafka: committed ${info.topic}/${info.partition} up to ${info.offset}`),
        commitFailed: (error) =>
          log.warn(
            { err: error },
            `Kafka: a commit failed (what it covers is merged; the partition's next reader reads it again): ${error.message}`,
          ),
        storeWaiting: (error) =>
          log.warn(
            { err: error },
            `Kafka: the store did not confirm a batch; its offsets wait and reading pauses until it does: ${error.message}`,
          ),
        storeConfirmed: (ms) => log.warn(`Kafka: the store confirmed again after ${(ms / 1000).toFixed(1)} s; reading goes on`),
        unreachable: (reason) =>
          log.error({ kafka: { brokers: settings.kafka } }, `Kafka: no answer from the brokers, retrying: ${reason}`),
        reachable: (ms) => log.warn(`Kafka: the brokers answer again after ${(ms / 1000).toFixed(1)} s`),
        assigned: (partitions) =>
          log.info(
            { kafka: { group: settings.kafkaGroup, partitions } },
            `Kafka: group ${settings.kafkaGroup} assigned ${partitions.length} partition${partitions.length === 1 ? '' : 's'} of ${where} to this server: ${partitions.map((p) => `${p.topic}/${p.partition}`).join(' ') || 'none'}`,
          ),
      },
    )
    try {
      await kafka.load()
    } catch (error) {
      await startFailed(log, settings, (error as Error).message, error)
      await server.close()
      await consumer.close().catch(() => {})
      return 1
    }
    if (kafkaAccess?.sasl?.mechanism === 'plain' && kafkaAccess.tls === undefined) {
      log.warn('Kafka: SASL PLAIN without --kafka-tls sends the password in clear text')
    }
  }
  // One set of body limits for POST /ingest, POST /v1/logs and OTLP/gRPC calls together.
  const ingest = {
    maxBodyBytes: settings.maxBodyBytes,
    token: settings.ingestToken,
    origins: settings.ingestOrigins,
    ack: settings.ingestAck,
    limits: new IngestLimits(),
    onRequest: ({ endpoint, status, remote, error, summary }: IngestOutcome) => {
      const text = `${endpoint === 'grpc' ? 'OTLP/gRPC Export' : `POST ${endpoint}`} from ${remote}: ${status}${error ? `, ${error}` : ''}${summary ? ` (${summary.lines} records, ${summary.counted} counted)` : ''}`
      if (status >= 400) log.warn({ ingest: { endpoint, status, remote, ...summary } }, text)
      else log.debug({ ingest: { endpoint, status, remote, ...summary } }, text)
    },
  }
  let http: HttpEndpoints | undefined
  if (settings.http !== undefined) {
    try {
      http = await startHttp(consumer, server, settings.http, ingest, readHttpTls(settings), kafka)
      const endpoints = http
      if (settings.httpTlsCert !== undefined) {
        process.on('SIGHUP', () => {
          try {
            endpoints.reloadTls(readHttpTls(settings)!)
            log.info(`SIGHUP: HTTPS certificate re-read from ${settings.httpTlsCert}`)
          } catch (error) {
            log.error({ err: error }, `SIGHUP: HTTPS certificate not reloaded, the previous one stays in use: ${(error as Error).message}`)
          }
        })
      }
    } catch (error) {
      const message = `cannot serve HTTP on ${settings.http.host}:${settings.http.port}: ${(error as Error).message}`
      await startFailed(log, settings, message, error)
      await server.close()
      await consumer.close().catch(() => {})
      return 1
    }
  }
  let grpc: OtlpGrpcServer | undefined
  if (settings.otlpGrpc !== undefined) {
    try {
      const { startOtlpGrpc } = await import('../otlp-grpc.js')
      const onRequest = http?.onIngest ?? ingest.onRequest
      grpc = await startOtlpGrpc(consumer, settings.otlpGrpc, { ...ingest, onRequest }, ingest.limits, inputTls)
      if (inputTls) {
        const endpoint = grpc
        process.on('SIGHUP', () => {
          try {
            endpoint.reloadTls(readInputTls(settings)!)
          } catch {} // said by the TCP input's reload, which reads the same files
        })
      }
    } catch (error) {
      const message = `cannot serve OTLP/gRPC on ${settings.otlpGrpc.host}:${settings.otlpGrpc.port}: ${(error as Error).message}`
      await startFailed(log, settings, message, error)
      await http?.close()
      await server.close()
      await consumer.close().catch(() => {})
      return 1
    }
  }
  if (kafka) {
    const input = kafka
    // Only what the client cannot retry ends here; /readyz then says why.
    input.start().catch((error: Error) => log.error({ err: error }, `Kafka input stopped: ${error.message}`))
  }
  const last = { value: { ...consumer.lineCounts(), at: Date.now() } }
  let reporting: Promise<void> | undefined
  const statsTimer =
    settings.statsIntervalMs > 0
      ? setInterval(() => {
          reporting ??= report(consumer, server, log, last).finally(() => (reporting = undefined))
        }, settings.statsIntervalMs)
      : undefined

  const exitCode = new Promise<number>((resolve) => {
    let stopping = false
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        log.warn(`${signal} again: exiting at once`)
        log.flush()
        process.exit(signal === 'SIGINT' ? 130 : 143)
      }
      stopping = true
      if (statsTimer) clearInterval(statsTimer)
      log.info(`${signal}: no new connections; draining ${server.counters().active} connections, then flushing (again to exit at once)`)
      const shutdown = async () => {
        await server.close() // drain what connections already sent (/readyz says 503 meanwhile)
        await kafka?.stop(settings.closeTimeoutMs) // the running batch is flushed and committed, then the group is left
        await http?.close()
        await grpc?.close()
        // The final flush, retried for --close-timeout; the final report then needs no round trip.
        const failure = await consumer.close().then(
          () => undefined,
          (error: Error) => error,
        )
        await reporting
        await report(consumer, server, log, last)
        if (failure) throw failure
      }
      shutdown().then(
        () => {
          const c = server.counters()
          log.info(
            c,
            `stopped: everything received was counted and flushed (${c.accepted} connection${c.accepted === 1 ? '' : 's'}, ${c.refused} refused, ${c.aborted} aborted)`,
          )
          resolve(0)
        },
        (error: Error) => {
          log.error({ err: error }, `stopped, but the final flush failed: ${error.message}`)
          resolve(1)
        },
      )
    }
    process.on('SIGINT', stop)
    process.on('SIGTERM', stop)
  })
  // Only now: the log line is written off the main thread, and whoever waits for it (a supervisor,
  // a test) may signal at once; the handlers must be in place by then.
  const { address, port } = server.address()
  const store = `${describeStore(settings)}${describeDaily(settings)}`
  log.info(
    { address, port, tls: inputTls !== undefined, store, version },
    `loghour-server listening on ${address}:${port}${describeTls(inputTls)} (store: ${store}; reading: ${describeReadingSettings(settings)})`,
  )
  if (http) {
    const { address: httpHost, port: httpPort } = http.address
    log.info(
      { http: { address: httpHost, port: httpPort, scheme: http.scheme } },
      `HTTP endpoints on ${http.scheme}://${httpHost}:${httpPort}/ (dashboard /, /events, /metrics, /healthz, /readyz, /stats, POST /ingest, POST /v1/logs)`,
    )
  }
  if (grpc) {
    const { address: grpcHost, port: grpcPort } = grpc.address
    log.info(
      { otlpGrpc: { address: grpcHost, port: grpcPort, tls: inputTls !== undefined } },
      `OTLP/gRPC logs on ${grpcHost}:${grpcPort}${describeTls(inputTls)}`,
    )
  }
  return exitCode.finally(() => new Promise<void>((resolve) => log.flush(() => resolve())))
}

main().then(
  // The log is flushed by now; anything still scheduled (a failed store's reconnection timers)
  // must not keep the process alive.
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`loghour-server: ${(error as Error).stack ?? error}\n`)
    process.exit(1)
  },
)
