// The library's options: their public types (documented for editors) and their validation, which
// is derived from the setting declarations in ./settings.ts like everything else.
import { z } from 'zod/mini'
import { fieldPaths } from './schemas.js'
import {
  closest,
  type FieldOverrides,
  type GroupKey,
  type InputTls,
  isRedisClient,
  type OptionGroup,
  optionDefaults,
  optionSettings,
  type RecordFormat,
  type RecordFraming,
  type SchemaName,
  type Setting,
  type SettingValue,
  type StoreOption,
  type TimeUnit,
} from './settings.js'
import { hourKeysClash } from './stores/keys.js'
import { redactAddress } from './stores/redact.js'

export type { InputTls, RecordFormat, RecordFraming, RedisTls, SchemaName, StoreOption, TimeUnit } from './settings.js'

/**
 * Where a record keeps its fields, each a dotted path (`http.response.status_code`) that matches
 * nested objects, the flattened key written with dots, or a mix; each one given overrides the
 * schema's.
 */
export interface FieldNames {
  /** Timestamp field (`original` schema: `time`). */
  time?: string
  /** User address field (`original` schema: `ip`). */
  ip?: string
  /** HTTP status field (`original` schema: `status_code`). */
  status?: string
}

/** Options of {@link createConsumer}. Every field is optional; see {@link DEFAULT_CONSUMER_OPTIONS}. */
export interface ConsumerOptions {
  /**
   * Where the 24 hourly counts live. `'memory'`: in this process (embedded, no services).
   * `{ redis: 'redis://host:6379/0' }` (or an existing ioredis `Redis` or `Cluster`): in Redis
   * HyperLogLogs `<keyPrefix>0` … `<keyPrefix>23`, shared by every server that feeds them.
   * `{ redisCluster: ['10.0.0.1:6379', '10.0.0.2:6379'] }`: a Redis Cluster the store connects
   * to by some of its nodes (`rediss://user:password@host:port` entries for TLS and AUTH).
   * @default "memory"
   */
  store?: StoreOption
  /**
   * Prefix of the hour keys: hour `H` is stored as `<keyPrefix><H>` (`error_hour_0` …
   * `error_hour_23`), the original service's names.
   * @default "error_hour_"
   */
  keyPrefix?: string
  /**
   * Longest accepted line in bytes (without its `\n`). Longer lines are skipped up to their
   * `\n` without being buffered and counted as invalid (`tooLong`), so memory per stream stays
   * bounded whatever a client sends.
   * @default 65536
   */
  maxLineBytes?: number
  /**
   * How often a remote store receives the sketches' changes, in milliseconds.
   * @default 1000
   */
  flushIntervalMs?: number
  /**
   * How records are written: `'auto'`, each stream (the consumer itself, each `openStream()`,
   * connection or HTTP body) decides from its first records (at most 200 records or 64 KiB held:
   * Combined/Common lines, a JSON schema or the usual field names, a `message`/`log` envelope, a
   * JSON stream; docs/contract.md, "Automatic reading"); `'json'`, one JSON object per line (the
   * original service's); or `'clf'`, NCSA Common or Combined log lines as nginx and Apache write
   * them by default (the client is the first field, the time the bracketed one, the status the
   * three digits after the quoted request).
   * @default "auto"
   */
  format?: RecordFormat
  /**
   * Where JSON records keep the time, address and status, as a producer writes them:
   * `'original'` (`time`, `ip`, `status_code`), `'ecs'`, `'caddy'`, `'pino-http'`, `'traefik'`,
   * `'gcp'`. The original schema used as is (no `fields`, no `timeUnit`) keeps the original
   * service's rule exactly: a string status is `wrongType`. Given (or `fields`, `timeUnit`), JSON
   * records are read this way and not guessed. Not given: detected with `format: 'auto'`,
   * `'original'` with `format: 'json'`.
   */
  schema?: SchemaName
  /** Field paths overriding the schema's, for logs that keep them elsewhere. */
  fields?: FieldNames
  /** Unit of epoch times (JSON numbers or numeric strings); the schema's when not given (`ms` for pino-http, `s` otherwise). */
  timeUnit?: TimeUnit
  /**
   * IANA time zone (`'Europe/Berlin'`, `'UTC'`) whose clock the hours and weekdays are counted
   * on: times with an offset and epoch times are converted to it. Not set: wall clocks are taken
   * as written (offsets ignored) and epoch times are UTC.
   */
  timezone?: string
  /** Zone of times written without an offset, when it is not `timezone` (which it requires). */
  sourceTimezone?: string
  /**
   * Each JSON line carries the record as the string value of this field (a dotted path), read
   * with `format`: Vector's `message`, Docker's `log`.
   */
  envelope?: string
  /**
   * How records are delimited: `'lines'`, or `'json-stream'`, JSON values back to back with or
   * without whitespace (Logstash's `json` codec, Fluent Bit's `json_stream`). Not given:
   * detected with `format: 'auto'`, `'lines'` with `format: 'json'` or `'clf'`.
   */
  framing?: RecordFraming
  /**
   * Also keep a sketch per (day, hour): in Redis the keys `{<keyPrefix><H>}:<YYYY-MM-DD>` next to
   * the all-time ones, in memory (and the snapshot) sparse while small. Date windows and the
   * weekday table ({@link LogConsumer.stats} with `from`/`to`/`days`/`by`) need it.
   * @default false
   */
  daily?: boolean
  /**
   * With `daily`: days are kept this many days after their own (Redis `PEXPIREAT` at the end of
   * day + N on the `timezone` calendar; memory drops older days), which bounds memory.
   * @default 35
   */
  retainDays?: number
  /**
   * Also keep every user of each working-day hour, whatever the status (in Redis the keys
   * `<usersKeyPrefix><H>`, and their day keys with `daily`): {@link Stats.users} and
   * {@link Stats.share}, the share of each hour's users who met a 5xx.
   * @default false
   */
  allUsers?: boolean
  /**
   * With `allUsers`: hour `H` of every user is the Redis key `<usersKeyPrefix><H>`.
   * @default "user_hour_"
   */
  usersKeyPrefix?: string
  /**
   * With `allUsers`: {@link Stats.shareHour} is chosen among hours with at least this many users
   * (a share of a handful of users is not a rate).
   * @default 100
   */
  minUsers?: number
  /**
   * Also count the 5xx users of each hour by the value of one field ({@link Stats.groups}): a
   * dotted JSON path (`service`, `host`, `url.path`), or for Combined lines `path` (the request's
   * route: query dropped, identifiers as `:id`) and `method`; `route` for the middleware (the
   * framework's matched route). A value starting with `/` is read as a route too.
   */
  groupBy?: string
  /**
   * With `groupBy`: values kept (memory and Redis keys are bounded by it); records of later
   * values go to `(other)`.
   * @default 1000
   */
  maxGroups?: number
  /**
   * With `groupBy`: the values with the most users in {@link Stats.groups}.
   * @default 10
   */
  top?: number
  /**
   * Memory store only: a file the counts are restored from at start and written to (atomically)
   * every `flushIntervalMs` when something changed, and on close.
   */
  snapshot?: string
  /**
   * Redis store: how long a merge or a count waits for Redis before the changes are kept for the
   * next flush (the merge may still land: merges are idempotent).
   * @default 5000
   */
  redisTimeoutMs?: number
  /**
   * Redis store: a merge counts as confirmed only once Redis reports it on this many replicas
   * (`WAIT`), since a master can fail right after answering; until then it is kept and merged
   * again. Absent: the replicas the key's shard is configured with (`CLUSTER SHARDS`, failed ones
   * too; for a single Redis the most `connected_slaves` showed since start), never lowered by a
   * replica that fails. `0`: the master's answer confirms.
   */
  minReplicas?: number
  /**
   * How long `close()` keeps retrying the final flush while the store is unreachable (Redis
   * down, restarting or slow) before it rejects; reconnection is attempted at least every second.
   * @default 10000
   */
  closeTimeoutMs?: number
}

/** {@link ConsumerOptions} with every default applied. */
export interface ResolvedConsumerOptions {
  format: RecordFormat
  store: StoreOption
  keyPrefix: string
  maxLineBytes: number
  flushIntervalMs: number
  schema: SchemaName | undefined
  fields: FieldOverrides
  timeUnit: TimeUnit | undefined
  timezone: string | undefined
  sourceTimezone: string | undefined
  envelope: string | undefined
  framing: RecordFraming | undefined
  daily: boolean
  retainDays: number
  allUsers: boolean
  usersKeyPrefix: string
  minUsers: number
  groupBy: string | undefined
  maxGroups: number
  top: number
  snapshot: string | undefined
  redisTimeoutMs: number
  minReplicas: number | undefined
  closeTimeoutMs: number
}

/** Options of `consumer.listen()`: the TCP input. Every field is optional; see {@link DEFAULT_LISTEN_OPTIONS}. */
export interface ListenOptions {
  /** TCP port; 0 picks a free one. @default 2525 */
  port?: number
  /** Address to bind. @default "127.0.0.1" */
  host?: string
  /** Connections beyond this many are refused (closed at once). @default 10000 */
  maxConnections?: number
  /**
   * Closes a connection that sent nothing for this long (0 = never), so idle clients cannot
   * hold every `maxConnections` slot.
   * @default 300000 (5 minutes)
   */
  idleTimeoutMs?: number
  /**
   * On close, how long connections may go on delivering what they already sent. A connection is
   * drained when its client closes it, or when nothing arrived on it for a short while.
   * @default 5000
   */
  drainTimeoutMs?: number
  /**
   * Budget for the unfinished lines held by all connections together. When a read takes them
   * above it, the connections holding the largest unfinished lines are closed (their partial
   * lines dropped and counted) until the total is within it again: whatever the distribution,
   * once a read is counted partial lines never hold more than the budget, and clients with
   * ordinary short lines are the last to go. 0 = no budget (the bound is then `maxConnections` × the
   * line limit).
   * @default 67108864 (64 MiB)
   */
  maxBufferedBytes?: number
  /**
   * Reads connections through Node's public `'data'` events (a Buffer per read) instead of one
   * shared read buffer, which relies on Node's socket internals: about half the speed, for a
   * Node version whose internals differ (detection falls back by itself).
   * @default false
   */
  portableReads?: boolean
  /**
   * Serves the input over TLS (PEM text; `clientAuth` with `ca` for mutual TLS); plain TCP when
   * absent. `server.reloadTls()` swaps the certificates for new handshakes.
   * @example
   * { cert: readFileSync('server.pem', 'utf8'), key: readFileSync('server-key.pem', 'utf8') }
   */
  tls?: InputTls
}

/** {@link ListenOptions} with every default applied. */
export type ResolvedListenOptions = Required<Omit<ListenOptions, 'tls'>> & { tls: InputTls | undefined }

// The public types and the declarations describe the same options: a drift fails to compile.
type Exactly<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never
type Declared<G extends OptionGroup> = { [K in GroupKey<G>]: SettingValue<K> }
true satisfies Exactly<ResolvedConsumerOptions, Declared<'consumer'>>
true satisfies Exactly<ResolvedListenOptions, Declared<'listen'>>

/** The defaults of every consumer option. */
export const DEFAULT_CONSUMER_OPTIONS: Readonly<ResolvedConsumerOptions> = optionDefaults('consumer')

/** The defaults of every listen option. */
export const DEFAULT_LISTEN_OPTIONS: Readonly<ResolvedListenOptions> = optionDefaults('listen')

/** Thrown for an unknown option, a wrong type or an out-of-range value. */
export class OptionError extends TypeError {
  override name = 'OptionError'
  constructor(
    /** Path of the offending option, e.g. `maxLineBytes` or `fields.ip`. */
    readonly option: string,
    message: string,
  ) {
    super(message)
  }
}

/**
 * A copy of an options object holding only its own enumerable properties, without a prototype,
 * nested objects likewise: a property inherited from a prototype (`Object.prototype`, polluted
 * or not) is never an option. A Redis client is kept as it is.
 */
function ownOptions(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || isRedisClient(value)) return value
  const copy = Object.create(null) as Record<string, unknown>
  for (const [key, v] of Object.entries(value)) copy[key] = ownOptions(v)
  return copy
}

/** Renders a value for an error message. */
export function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value)
  if (typeof value === 'bigint') return `${value}n`
  if (value === null || typeof value !== 'object') return String(value)
  if (Array.isArray(value)) return 'an array'
  return `an object`
}

function valueAt(input: unknown, path: PropertyKey[]): unknown {
  return path.reduce<unknown>((v, key) => (v && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[key] : undefined), input)
}

type OptionSetting = Setting & { kind: { option: NonNullable<Setting['kind']['option']> } }

// zod/mini: the same checks, and a fraction of the start-up cost of the full zod API for the CLI.
const SCHEMAS = new Map<OptionGroup, z.ZodMiniType>()
function schemaOf(group: OptionGroup): z.ZodMiniType {
  let schema = SCHEMAS.get(group)
  if (!schema) {
    const shape = Object.fromEntries((optionSettings(group) as OptionSetting[]).map((s) => [s.key, z.optional(s.kind.option.schema)]))
    schema = z.strictObject(shape)
    SCHEMAS.set(group, schema)
  }
  return schema
}

/**
 * Validates the options of `group` against their declarations and applies the defaults: an
 * object option is completed member by member from its default.
 * @throws {OptionError} naming the option, what it accepts and what it got.
 */
function resolveGroup(group: OptionGroup, input: unknown): Record<string, unknown> {
  if (input === undefined || input === null) input = {}
  if (typeof input !== 'object' || Array.isArray(input)) {
    throw new OptionError('options', `loghour: options must be an object, got ${show(input)}`)
  }
  input = ownOptions(input)
  const settings = optionSettings(group) as OptionSetting[]
  const parsed = schemaOf(group).safeParse(input)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!
    const [key, member] = issue.path.map(String) as [string | undefined, string | undefined]
    const setting = settings.find((s) => s.key === key)
    if (issue.code === 'unrecognized_keys') {
      const known = setting ? Object.keys(setting.kind.option.members ?? {}) : settings.map((s) => s.key)
      const unknown = issue.keys[0]!
      const hint = closest(unknown, known)
      const name = setting ? `${key}.${unknown}` : unknown
      throw new OptionError(
        name,
        `loghour: unknown option "${name}"${hint ? ` (did you mean "${hint}"?)` : ''}; known options: ${known.join(', ')}`,
      )
    }
    const name = issue.path.map(String).join('.')
    const accepts = (member === undefined ? setting?.kind.option.accepts : setting?.kind.option.members?.[member]) ?? issue.message
    const got = valueAt(input, issue.path)
    const shown = typeof got === 'string' && setting?.redact ? redactAddress(got) : got
    const hint = typeof got === 'string' && member === undefined ? setting?.kind.suggest?.(got) : undefined
    throw new OptionError(
      name,
      `loghour: invalid option "${name}": expected ${accepts}, got ${show(shown)}${hint ? ` (did you mean "${hint}"?)` : ''}`,
    )
  }
  const given = ownOptions(parsed.data) as Record<string, unknown>
  const resolved: Record<string, unknown> = {}
  for (const s of settings) {
    const value = given[s.key]
    const problem = value === undefined ? null : (s.kind.problem?.(value) ?? null)
    if (problem) throw new OptionError(s.key, `loghour: invalid option "${s.key}": ${problem}, got ${show(value)}`)
    const isObject = typeof s.default === 'object' && s.default !== null && typeof value === 'object' && value !== null
    resolved[s.key] = isObject
      ? { ...s.default, ...Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) }
      : (value ?? s.default)
  }
  return resolved
}

/**
 * Validates consumer options and applies the defaults.
 * @throws {OptionError} naming the option, what it accepts and what it got.
 */
export function resolveConsumerOptions(input: unknown = {}): ResolvedConsumerOptions {
  const options = resolveGroup('consumer', input) as unknown as ResolvedConsumerOptions
  for (const [name, value] of Object.entries(options.fields)) {
    if (!value.isWellFormed()) {
      throw new OptionError(
        `fields.${name}`,
        `loghour: invalid option "fields.${name}": expected well-formed Unicode (it has a lone surrogate), got ${show(value)}`,
      )
    }
  }
  const paths = Object.values(fieldPaths(options))
  const repeated = paths.find((v, i, all) => all.indexOf(v) !== i)
  if (repeated !== undefined) {
    throw new OptionError(
      'fields',
      `loghour: invalid option "fields": time, ip and status must be three different field paths, got ${show(repeated)} twice (with the ${options.schema ?? 'original'} schema's)`,
    )
  }
  if (options.sourceTimezone !== undefined && options.timezone === undefined) {
    throw new OptionError('sourceTimezone', 'loghour: option "sourceTimezone" needs "timezone" (the zone the times are converted to)')
  }
  if (options.framing === 'json-stream' && options.format === 'clf' && options.envelope === undefined) {
    throw new OptionError(
      'framing',
      'loghour: option "framing" json-stream frames JSON values: it needs format json, or an envelope around clf lines',
    )
  }
  if (options.snapshot !== undefined && options.store !== 'memory') {
    throw new OptionError('snapshot', 'loghour: option "snapshot" applies to the memory store only (Redis keeps the counts itself)')
  }
  if (options.allUsers && hourKeysClash(options.keyPrefix, options.usersKeyPrefix)) {
    throw new OptionError(
      'usersKeyPrefix',
      `loghour: option "usersKeyPrefix" ${show(options.usersKeyPrefix)} would share hour keys with "keyPrefix" ${show(options.keyPrefix)}; choose another`,
    )
  }
  return options
}

/**
 * Validates listen options and applies the defaults.
 * @throws {OptionError} naming the option, what it accepts and what it got.
 */
export function resolveListenOptions(input: unknown = {}): ResolvedListenOptions {
  return resolveGroup('listen', input) as unknown as ResolvedListenOptions
}
