import type { Cluster, Redis } from 'ioredis'
import { z } from 'zod/mini'
import { keyPrefixProblem } from './stores/keys.js'
import { redactAddress } from './stores/redact.js'

/** Top-level JSON field names a record is read from. */
export interface FieldNames {
  /** Timestamp field. @default "time" */
  time?: string
  /** User address field. @default "ip" */
  ip?: string
  /** HTTP status field. @default "status_code" */
  status?: string
}

/** Options of {@link createConsumer}. Every field is optional; see `DEFAULT_CONSUMER_OPTIONS`. */
export interface ConsumerOptions {
  /**
   * Where the 24 hourly counts live. `'memory'`: in this process (embedded, no services).
   * `{ redis: 'redis://host:6379/0' }` (or an existing ioredis `Redis` or `Cluster`): in Redis
   * HyperLogLogs `<keyPrefix>0` … `<keyPrefix>23`, shared by every server that feeds them.
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
  /** JSON field names, for logs that do not use `time`, `ip` and `status_code`. */
  fields?: FieldNames
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
   * How long `close()` keeps retrying the final flush while the store is unreachable (Redis
   * down, restarting or slow) before it rejects; reconnection is attempted at least every second.
   * @default 10000
   */
  closeTimeoutMs?: number
}

/** Where counts live: in this process, or in Redis (a URL, or a connected ioredis client). */
export type StoreOption = 'memory' | { redis: string | Redis | Cluster }

/** {@link ConsumerOptions} with every default applied. */
export interface ResolvedConsumerOptions {
  store: StoreOption
  keyPrefix: string
  maxLineBytes: number
  flushIntervalMs: number
  fields: Required<FieldNames>
  snapshot: string | undefined
  redisTimeoutMs: number
  closeTimeoutMs: number
}

/** The defaults of every consumer option. */
export const DEFAULT_CONSUMER_OPTIONS: Readonly<ResolvedConsumerOptions> = Object.freeze({
  store: 'memory',
  keyPrefix: 'error_hour_',
  maxLineBytes: 65536,
  flushIntervalMs: 1000,
  fields: Object.freeze({ time: 'time', ip: 'ip', status: 'status_code' }),
  snapshot: undefined,
  redisTimeoutMs: 5000,
  closeTimeoutMs: 10_000,
})

/** Limits of numeric options, shared with the command-line and environment settings. */
export const LIMITS = Object.freeze({
  maxLineBytes: { min: 64, max: 1 << 30 },
  flushIntervalMs: { min: 10, max: 86_400_000 },
  redisTimeoutMs: { min: 10, max: 600_000 },
  closeTimeoutMs: { min: 0, max: 3_600_000 },
})

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

const text = (min: number, max: number) => z.string().check(z.minLength(min), z.maxLength(max))
const integer = ({ min, max }: { min: number; max: number }) => z.int().check(z.gte(min), z.lte(max))
const fieldName = text(1, 256)
const accepts: Record<string, string> = {
  store: '"memory" or { redis: <URL string, or an ioredis Redis or Cluster instance> }',
  'store.redis': 'a redis:// or rediss:// URL, or an ioredis Redis or Cluster instance',
  keyPrefix: 'a non-empty string of at most 512 characters',
  maxLineBytes: `an integer from ${LIMITS.maxLineBytes.min} to ${LIMITS.maxLineBytes.max}`,
  flushIntervalMs: `an integer from ${LIMITS.flushIntervalMs.min} to ${LIMITS.flushIntervalMs.max}`,
  fields: 'an object with optional string keys time, ip, status',
  'fields.time': 'a non-empty string of at most 256 characters',
  'fields.ip': 'a non-empty string of at most 256 characters',
  'fields.status': 'a non-empty string of at most 256 characters',
  snapshot: 'a file path',
  redisTimeoutMs: `an integer from ${LIMITS.redisTimeoutMs.min} to ${LIMITS.redisTimeoutMs.max}`,
  closeTimeoutMs: `an integer from ${LIMITS.closeTimeoutMs.min} to ${LIMITS.closeTimeoutMs.max}`,
}

/** Duck-typed, so a client from another copy of ioredis is accepted too. */
const isRedisClient = (v: unknown): v is Redis | Cluster =>
  typeof v === 'object' && v !== null && typeof (v as Redis).pfcount === 'function' && typeof (v as Redis).defineCommand === 'function'
// ioredis parses URLs with the URL parser: refuse here what it would throw on later.
const redisUrl = z.string().check(z.regex(/^rediss?:\/\/./i), z.refine((url) => URL.canParse(url)))

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

// zod/mini: the same checks, and a fraction of the start-up cost of the full zod API for the CLI.
const schema = z.strictObject({
  store: z.optional(
    z.union([z.literal('memory'), z.strictObject({ redis: z.union([redisUrl, z.custom<Redis | Cluster>(isRedisClient)]) })]),
  ),
  keyPrefix: z.optional(text(1, 512)),
  maxLineBytes: z.optional(integer(LIMITS.maxLineBytes)),
  flushIntervalMs: z.optional(integer(LIMITS.flushIntervalMs)),
  fields: z.optional(z.strictObject({ time: z.optional(fieldName), ip: z.optional(fieldName), status: z.optional(fieldName) })),
  snapshot: z.optional(text(1, 4096)),
  redisTimeoutMs: z.optional(integer(LIMITS.redisTimeoutMs)),
  closeTimeoutMs: z.optional(integer(LIMITS.closeTimeoutMs)),
})

/** Renders a value for an error message. */
export function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value)
  if (typeof value === 'bigint') return `${value}n`
  if (value === null || typeof value !== 'object') return String(value)
  if (Array.isArray(value)) return 'an array'
  return `an object`
}

function closest(word: string, candidates: string[]): string | undefined {
  const distance = (a: string, b: string): number => {
    const row = Array.from({ length: b.length + 1 }, (_, j) => j)
    for (let i = 1; i <= a.length; i++) {
      let prev = row[0]!
      row[0] = i
      for (let j = 1; j <= b.length; j++) {
        const cur = row[j]!
        row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1))
        prev = cur
      }
    }
    return row[b.length]!
  }
  const lower = word.toLowerCase()
  const prefix = candidates.find((c) => lower.startsWith(c.toLowerCase()) || c.toLowerCase().startsWith(lower))
  const best = candidates.map((c) => [c, distance(word, c)] as const).sort((x, y) => x[1] - y[1])[0]
  return best && best[1] <= Math.max(2, word.length / 3) ? best[0] : prefix
}

function valueAt(input: unknown, path: PropertyKey[]): unknown {
  return path.reduce<unknown>((v, key) => (v && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[key] : undefined), input)
}

/**
 * Validates consumer options and applies the defaults.
 * @throws {OptionError} naming the option, what it accepts and what it got.
 */
export function resolveConsumerOptions(input: unknown = {}): ResolvedConsumerOptions {
  if (input === undefined || input === null) input = {}
  if (typeof input !== 'object' || Array.isArray(input)) {
    throw new OptionError('options', `loghour: options must be an object, got ${show(input)}`)
  }
  input = ownOptions(input)
  const parsed = schema.safeParse(input)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!
    if (issue.code === 'unrecognized_keys') {
      const prefix = issue.path.map(String).join('.')
      const known = Object.keys(accepts)
        .filter((k) => (prefix ? k.startsWith(`${prefix}.`) : !k.includes('.')))
        .map((k) => k.slice(prefix ? prefix.length + 1 : 0))
      const key = issue.keys[0]!
      const hint = closest(key, known)
      const name = prefix ? `${prefix}.${key}` : key
      throw new OptionError(
        name,
        `loghour: unknown option "${name}"${hint ? ` (did you mean "${hint}"?)` : ''}; known options: ${known.join(', ')}`,
      )
    }
    const name = issue.path.map(String).join('.')
    const got = valueAt(input, issue.path)
    throw new OptionError(
      name,
      `loghour: invalid option "${name}": expected ${accepts[name] ?? issue.message}, got ${show(typeof got === 'string' && name === 'store.redis' ? redactAddress(got) : got)}`,
    )
  }
  const o = ownOptions(parsed.data) as typeof parsed.data
  const d = DEFAULT_CONSUMER_OPTIONS
  const prefixProblem = o.keyPrefix === undefined ? null : keyPrefixProblem(o.keyPrefix)
  if (prefixProblem) {
    throw new OptionError('keyPrefix', `loghour: invalid option "keyPrefix": ${prefixProblem}, got ${show(o.keyPrefix)}`)
  }
  const fields: Required<FieldNames> = { ...d.fields, ...Object.fromEntries(Object.entries(o.fields ?? {}).filter(([, v]) => v !== undefined)) }
  for (const [name, value] of Object.entries(fields)) {
    if (!value.isWellFormed()) {
      throw new OptionError(`fields.${name}`, `loghour: invalid option "fields.${name}": expected well-formed Unicode (it has a lone surrogate), got ${show(value)}`)
    }
  }
  const repeated = Object.values(fields).find((v, i, all) => all.indexOf(v) !== i)
  if (repeated !== undefined) {
    throw new OptionError('fields', `loghour: invalid option "fields": time, ip and status must be three different field names, got ${show(repeated)} twice`)
  }
  if (o.snapshot !== undefined && o.store !== undefined && o.store !== 'memory') {
    throw new OptionError('snapshot', 'loghour: option "snapshot" applies to the memory store only (Redis keeps the counts itself)')
  }
  return {
    store: o.store ?? d.store,
    keyPrefix: o.keyPrefix ?? d.keyPrefix,
    maxLineBytes: o.maxLineBytes ?? d.maxLineBytes,
    flushIntervalMs: o.flushIntervalMs ?? d.flushIntervalMs,
    fields,
    snapshot: o.snapshot,
    redisTimeoutMs: o.redisTimeoutMs ?? d.redisTimeoutMs,
    closeTimeoutMs: o.closeTimeoutMs ?? d.closeTimeoutMs,
  }
}
