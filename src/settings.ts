// Every setting of loghour, declared once: the kind of its value (how it is read from a flag or an
// environment variable, and checked as a library option), its default and limits, its flag,
// environment names and help. Everything else is derived from these declarations: the library's
// option schemas, defaults and error messages, the command-line flags and --help, and the
// README's configuration table (test/docs.test.ts fails when it drifts).
import type { Cluster, Redis } from 'ioredis'
import { z } from 'zod/mini'
import { parseRotation, templateProblem } from './log-names.js'
import { isTimeZone, timeZoneNames } from './native.js'
import { type FieldPaths, SCHEMAS, type SchemaName, type TimeUnit } from './schemas.js'
import { keyPrefixProblem } from './stores/keys.js'

/** How a setting's value is written as text (flag, environment) and as a library option. */
export interface Kind<T> {
  /** What a flag or environment value must be, for error messages ("an integer from 0 to 65535"). */
  readonly textAccepts: string
  /** The value of a flag's or environment variable's text, or undefined when it is not acceptable. */
  fromText(raw: string): T | undefined
  /** A value as `--help` and the README show it. */
  show(value: T): string
  /** As a library option: its schema and what it accepts; absent for command-line-only settings. */
  readonly option?: { schema: z.ZodMiniType; accepts: string; members?: Readonly<Record<string, string>> }
  /** What is wrong with a value of the right type (a message), or null. */
  problem?(value: T): string | null
  /** The accepted value closest to a refused one, for "did you mean …?". */
  suggest?(raw: string): string | undefined
}

/** The candidate closest to `word` (edit distance, any case; or a prefix), if any is close. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
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
  const lower = word.trim().toLowerCase()
  if (lower.length === 0) return undefined
  const prefix = candidates.find((c) => lower.startsWith(c.toLowerCase()) || c.toLowerCase().startsWith(lower))
  const best = candidates.map((c) => [c, distance(word.trim(), c)] as const).sort((x, y) => x[1] - y[1])[0]
  return best && best[1] <= Math.max(2, word.length / 3) ? best[0] : prefix
}

/** Library options a setting belongs to. */
export type OptionGroup = 'consumer' | 'listen'

/** One setting, as declared. */
export interface SettingDeclaration<T> {
  readonly kind: Kind<T>
  readonly default: T
  /** The default as shown, when `kind.show(default)` is not the clearest way to say it. */
  readonly shown?: string
  /** One line for --help and the README table. */
  readonly help?: string
  /** Command-line flag and its argument placeholder (none for an on/off flag). */
  readonly flag?: `--${string}`
  readonly arg?: `<${string}>`
  /** Environment variable, and other names read too (the original service's quirks): they must agree. */
  readonly env?: string
  readonly aliases?: readonly string[]
  /** The flag may be given several times; its values are joined with "," (as in the environment). */
  readonly repeatable?: boolean
  /** Its value may hold a password: error messages show it masked. */
  readonly redact?: boolean
  /**
   * It protects something (a token, a certificate): an empty value is an error, never "off" (an
   * unset variable in `--ingest-token "$TOKEN"` must not serve /ingest to everyone).
   */
  readonly security?: boolean
  /** The library options this is one of, under the setting's own name. */
  readonly group?: OptionGroup
  /** One line for the README's library options table, where `help` speaks of the server only. */
  readonly optionHelp?: string
}

/** A declared setting with its name and the derived text of its default and accepted values. */
export type Setting<T = unknown> = SettingDeclaration<T> & { readonly key: string; readonly shown: string; readonly accepts: string }

const range = (min: number, max: number) => `from ${min} to ${max}`
const int = (min: number, max: number) => z.int().check(z.gte(min), z.lte(max))

/** A whole number within limits. */
export function integer(min: number, max: number): Kind<number> {
  const accepts = `an integer ${range(min, max)}`
  return {
    textAccepts: accepts,
    fromText(raw) {
      const n = /^\s*\d+\s*$/.test(raw) ? Number(raw) : Number.NaN
      return Number.isSafeInteger(n) && n >= min && n <= max ? n : undefined
    },
    show: String,
    option: { schema: int(min, max), accepts },
  }
}

/**
 * A duration in milliseconds, within limits in milliseconds; written in `unit` as text (seconds
 * may have a fraction) and always in milliseconds as a library option.
 */
export function duration(min: number, max: number, unit: 's' | 'ms'): Kind<number> {
  const accepts = `an integer ${range(min, max)}`
  if (unit === 'ms') return integer(min, max)
  return {
    textAccepts: `a number of seconds ${range(min / 1000, max / 1000)}`,
    fromText(raw) {
      const s = /^\s*\d+(\.\d+)?\s*$/.test(raw) ? Number(raw) : Number.NaN
      // A positive duration never rounds to 0, which means "never" for some settings.
      const ms = s === 0 ? 0 : Math.max(1, Math.round(s * 1000))
      return Number.isFinite(s) && ms >= min && ms <= max ? ms : undefined
    },
    show: (ms) => String(ms / 1000),
    option: { schema: int(min, max), accepts },
  }
}

/** A non-empty string of at most `max` characters, with a further check. */
export function text(max: number, check: ((value: string) => string | null) | null, accepts?: string): Kind<string> {
  const described = accepts ?? `a non-empty string of at most ${max} characters`
  return {
    textAccepts: described,
    fromText: (raw) => (raw.length > 0 && raw.length <= max && (check?.(raw) ?? null) === null ? raw : undefined),
    show: String,
    option: { schema: z.string().check(z.minLength(1), z.maxLength(max)), accepts: described },
    ...(check ? { problem: check } : {}),
  }
}

/** One of a few words (any case); several words may name one value. */
export function choice<T extends string>(words: Readonly<Record<string, T>>, accepts: string): Kind<T> {
  const values = [...new Set(Object.values(words))] as [T, ...T[]]
  return {
    textAccepts: accepts,
    fromText: (raw) => (Object.hasOwn(words, raw.trim().toLowerCase()) ? words[raw.trim().toLowerCase()] : undefined),
    show: String,
    option: { schema: z.enum(values), accepts },
    suggest: (raw) => closest(raw, Object.keys(words)),
  }
}

/** A time zone of the IANA database the native core bundles (any case). */
function timeZone(): Kind<string> {
  const accepts = 'an IANA time zone name such as Europe/Berlin or America/New_York, or UTC'
  const known = (v: string) => v.length > 0 && v.length <= 256 && isTimeZone(v)
  return {
    textAccepts: accepts,
    fromText: (raw) => (known(raw.trim()) ? raw.trim() : undefined),
    show: String,
    option: { schema: z.string().check(z.refine(known)), accepts },
    suggest: (raw) => closest(raw, timeZoneNames()),
  }
}

/** On or off: a flag without a value, or true/false, 1/0, yes/no, on/off as text. */
export function boolean(): Kind<boolean> {
  const words: Record<string, boolean> = { true: true, '1': true, yes: true, on: true, false: false, '0': false, no: false, off: false }
  return {
    textAccepts: 'true or false (also 1 or 0, yes or no, on or off)',
    fromText: (raw) => words[raw.trim().toLowerCase()],
    show: String,
    option: { schema: z.boolean(), accepts: 'true or false' },
  }
}

/** A value read from text only (no library option). */
function textOnly<T>(textAccepts: string, fromText: (raw: string) => T | undefined, show: (value: T) => string = String): Kind<T> {
  return { textAccepts, fromText, show }
}

/**
 * True when ioredis can use `url`: the URL parser takes it, and its user name and password decode
 * (ioredis percent-decodes them and throws on a malformed escape such as `%zz`).
 */
function usableRedisUrl(url: string): boolean {
  if (!URL.canParse(url)) return false
  const { username, password } = new URL(url)
  try {
    decodeURIComponent(username)
    decodeURIComponent(password)
    return true
  } catch {
    return false
  }
}

/**
 * A Redis Cluster's startup nodes: `host:port` entries and `redis://`/`rediss://` URLs, joined by
 * ","; every URL must agree on the scheme, user and password (they apply to every node).
 */
export function clusterNodes(raw: string): string[] | undefined {
  const entries = raw
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e.length > 0)
  if (entries.length === 0 || entries.length > 64) return undefined
  const nodes = entries.map((e) => (/:\d{1,5}$/.test(e) || /^rediss?:\/\//i.test(e) ? redisAddress(e) : undefined))
  if (nodes.some((n) => n === undefined)) return undefined
  const urls = entries.filter((e) => /^rediss?:\/\//i.test(e)).map((e) => new URL(e))
  const same = urls.every((u) => u.protocol === urls[0]!.protocol && u.username === urls[0]!.username && u.password === urls[0]!.password)
  return same ? entries : undefined
}

/** Accepts `redis://…`, `rediss://…`, or `host[:port]` (the original service's form). */
export function redisAddress(raw: string): string | undefined {
  const value = raw.trim()
  const url = /^rediss?:\/\/\S+$/i.test(value)
    ? value
    : /^[A-Za-z0-9.\-_]+(:\d{1,5})?$/.test(value) || /^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/.test(value)
      ? `redis://${value}`
      : undefined
  // Anything ioredis would throw on later is refused here.
  return url !== undefined && usableRedisUrl(url) ? url : undefined
}

/** Duck-typed, so a client from another copy of ioredis is accepted too. */
export const isRedisClient = (v: unknown): v is Redis | Cluster =>
  typeof v === 'object' && v !== null && typeof (v as Redis).pfcount === 'function' && typeof (v as Redis).defineCommand === 'function'

const pem = z.string().check(z.regex(/-----BEGIN [A-Z ]+-----/))

// Refuse here what ioredis would throw on later.
const redisUrl = z.string().check(z.regex(/^rediss?:\/\/./i), z.refine(usableRedisUrl))

/** Where the HTTP endpoints listen. */
export interface HttpAddress {
  host: string
  port: number
}

/** `HOST:PORT` or `[IPv6]:PORT`. */
export function httpAddress(raw: string): HttpAddress | undefined {
  const m = /^\s*(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.\-_]+)):(\d{1,5})\s*$/.exec(raw)
  const port = m ? Number(m[3]) : Number.NaN
  return m && port <= 65535 ? { host: (m[1] ?? m[2])!, port } : undefined
}

/** Web origins (`scheme://host[:port]`, as browsers send them) joined by ",", or `*`. */
export function ingestOrigins(raw: string): string[] | undefined {
  const entries = raw.split(',').map((e) => e.trim())
  if (entries.length === 0 || entries.some((e) => e.length === 0)) return undefined
  if (entries.includes('*')) return entries.length === 1 ? ['*'] : undefined
  const origins = entries.map((e) => (URL.canParse(e) && /^https?:\/\/[^/]+$/i.test(e) ? new URL(e).origin : undefined))
  return origins.every((o) => o !== undefined && o !== 'null') ? (origins as string[]) : undefined
}

/** Kafka brokers `host:port` joined by ",", or undefined when one is not that. */
export function kafkaBrokers(raw: string): string[] | undefined {
  const entries = raw.split(',').map((e) => e.trim())
  const ok = entries.every(
    (e) => /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+):\d{1,5}$/.test(e) && Number(e.slice(e.lastIndexOf(':') + 1)) <= 65535,
  )
  return entries.length > 0 && ok ? entries : undefined
}

/** Kafka topic names joined by ",": Kafka's own rule (letters, digits, `.`, `_`, `-`, at most 249). */
export function kafkaTopics(raw: string): string[] | undefined {
  const entries = raw.split(',').map((e) => e.trim())
  const ok = entries.every((e) => /^[A-Za-z0-9._-]{1,249}$/.test(e) && e !== '.' && e !== '..')
  return entries.length > 0 && ok && new Set(entries).size === entries.length ? entries : undefined
}

/** TLS material for a `rediss://` Redis, as PEM text: a CA to trust, a client certificate and key. */
export interface RedisTls {
  ca?: string
  cert?: string
  key?: string
}

/**
 * Where counts live: in this process, or in Redis (a URL, or a connected ioredis client); `tls`
 * for a `rediss://` URL whose server the system's CAs do not vouch for, or that wants a client
 * certificate.
 */
export type StoreOption = 'memory' | { redis: string | Redis | Cluster; tls?: RedisTls } | { redisCluster: string[]; tls?: RedisTls }

const redisTls = z.strictObject({ ca: z.optional(pem), cert: z.optional(pem), key: z.optional(pem) })

const store: Kind<StoreOption> = {
  textAccepts: '"memory" or a Redis URL',
  fromText: (raw) => (raw === 'memory' ? 'memory' : undefined),
  show: (v) => (v === 'memory' ? 'memory' : 'Redis'),
  option: {
    schema: z.union([
      z.literal('memory'),
      z.strictObject({
        redis: z.union([redisUrl, z.custom<Redis | Cluster>(isRedisClient)]),
        tls: z.optional(redisTls),
      }),
      z.strictObject({
        redisCluster: z.array(z.string()).check(z.refine((nodes) => clusterNodes(nodes.join(',')) !== undefined)),
        tls: z.optional(redisTls),
      }),
    ]),
    accepts:
      '"memory", { redis: <URL string, or an ioredis Redis or Cluster instance>, tls?: { ca?, cert?, key? } } or { redisCluster: ["host:port", …], tls? }',
    members: {
      redis: 'a redis:// or rediss:// URL, or an ioredis Redis or Cluster instance',
      redisCluster: 'an array of "host:port" strings or redis:// / rediss:// URLs (the same user, password and scheme)',
      tls: 'an object with optional PEM strings ca, cert, key (for a rediss:// URL)',
    },
  },
  problem(value) {
    if (value === 'memory' || value.tls === undefined) return null
    const address = 'redis' in value ? value.redis : value.redisCluster.find((n) => /^rediss?:/i.test(n))
    if (typeof address !== 'string' || !/^rediss:\/\//i.test(address)) return 'tls applies to rediss:// addresses only'
    if ((value.tls.cert === undefined) !== (value.tls.key === undefined)) return 'tls.cert and tls.key go together'
    return null
  },
}

/**
 * TLS on the TCP input, as PEM text: the server's certificate chain and key, and for mutual TLS
 * the CA whose client certificates are accepted.
 */
export interface InputTls {
  /** The server's certificate chain (PEM). */
  cert: string
  /** Its private key (PEM). */
  key: string
  /** CA certificates (PEM) that sign the client certificates accepted with `clientAuth`. */
  ca?: string
  /** Refuse clients without a certificate signed by `ca`. @default false */
  clientAuth?: boolean
}

const inputTls: Kind<InputTls> = {
  textAccepts: 'an object',
  fromText: () => undefined,
  show: () => 'TLS',
  option: {
    schema: z.strictObject({ cert: pem, key: pem, ca: z.optional(pem), clientAuth: z.optional(z.boolean()) }),
    accepts: '{ cert: PEM string, key: PEM string, ca?: PEM string, clientAuth?: boolean }',
    members: {
      cert: 'a PEM string (-----BEGIN CERTIFICATE-----)',
      key: 'a PEM string (-----BEGIN … PRIVATE KEY-----)',
      ca: 'a PEM string of CA certificates',
      clientAuth: 'true or false',
    },
  },
  problem: (value) =>
    value.clientAuth === true && value.ca === undefined
      ? 'clientAuth needs ca, the CA that signs the client certificates'
      : value.ca !== undefined && value.clientAuth !== true
        ? 'ca applies with clientAuth: true (it says which client certificates are accepted)'
        : null,
}

/** Field paths of a record, each one optional: they override the schema's. */
export type FieldOverrides = Partial<FieldPaths>

const FIELD_PATH = 'a non-empty string of at most 256 characters (a dotted path: http.response.status_code)'
const fieldPath = z.string().check(z.minLength(1), z.maxLength(256))
const FIELD_KEYS = ['time', 'ip', 'status'] as const
const fields: Kind<FieldOverrides> = {
  textAccepts: 'time=PATH, ip=PATH or status=PATH, several joined by ","',
  fromText(raw) {
    const overrides: FieldOverrides = {}
    for (const entry of raw.split(',')) {
      const at = entry.indexOf('=')
      const [name, path] = [entry.slice(0, at).trim(), entry.slice(at + 1).trim()]
      if (at < 0 || !(FIELD_KEYS as readonly string[]).includes(name) || path.length === 0 || path.length > 256) return undefined
      overrides[name as keyof FieldPaths] = path
    }
    return overrides
  },
  show: (v) =>
    Object.entries(v)
      .map(([k, p]) => `${k}=${p}`)
      .join(','),
  option: {
    schema: z.strictObject({ time: z.optional(fieldPath), ip: z.optional(fieldPath), status: z.optional(fieldPath) }),
    accepts: 'an object with optional string keys time, ip, status',
    members: { time: FIELD_PATH, ip: FIELD_PATH, status: FIELD_PATH },
  },
}

const schemaNames = Object.keys(SCHEMAS) as SchemaName[]

/**
 * How access-log records are written: `auto` (each stream decides from its first records),
 * JSON objects, or NCSA Common/Combined lines.
 */
export type RecordFormat = 'auto' | 'json' | 'clf'

/** How records are delimited: one per line, or JSON values back to back. */
export type RecordFraming = 'lines' | 'json-stream'

export type { FieldPaths, SchemaName, TimeUnit } from './schemas.js'

/** Log levels, as pino names them. */
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent'

/** How log lines look: JSON lines, human lines, or human on a terminal and JSON elsewhere. */
export type LogFormat = 'auto' | 'json' | 'pretty'

// Keeps each declaration's own type (its flag, group and kind), which the types below read.
// biome-ignore lint/suspicious/noExplicitAny: any value type; SettingValue reads it from the kind
const declare = <D extends SettingDeclaration<any>>(declaration: D): D => declaration

/**
 * Every setting, in `--help` order (library-only options last). The key is the setting's one
 * name: the library option's, and the server's internal one.
 */
const DECLARATIONS = {
  host: declare({
    group: 'listen',
    kind: text(255, null, 'a host name or IP address'),
    default: '127.0.0.1',
    flag: '--host',
    arg: '<address>',
    env: 'SERVER_HOST',
    help: 'address to listen on',
  }),
  port: declare({
    group: 'listen',
    kind: integer(0, 65535),
    default: 2525,
    flag: '--port',
    arg: '<port>',
    env: 'SERVER_PORT',
    help: 'TCP port to listen on (0 = any free port)',
  }),
  maxLineBytes: declare({
    optionHelp: 'longer lines are skipped unbuffered and counted as `tooLong`',
    group: 'consumer',
    kind: integer(64, 1 << 30),
    default: 65536,
    flag: '--max-line-bytes',
    arg: '<bytes>',
    env: 'SERVER_BUFFER_LIMIT_SIZE',
    help: 'longest line; longer ones are skipped unbuffered and counted invalid (tooLong)',
  }),
  format: declare({
    group: 'consumer',
    kind: choice<RecordFormat>({ auto: 'auto', json: 'json', clf: 'clf' }, 'auto, json or clf'),
    default: 'auto',
    flag: '--format',
    arg: '<format>',
    env: 'LOGHOUR_FORMAT',
    help: 'how records are written: auto (each stream, file or connection decides from its first records: Combined/Common lines, a JSON schema, an envelope, a JSON stream; docs/contract.md), json (one object per line), or clf (NCSA Common or Combined lines: nginx and Apache defaults)',
    optionHelp:
      "`'auto'`: each stream decides from its first records (docs/contract.md, \"Automatic reading\"); `'json'`: one JSON object per line; `'clf'`: NCSA Common or Combined lines (nginx and Apache defaults)",
  }),
  schema: declare({
    group: 'consumer',
    kind: choice<SchemaName>(
      Object.fromEntries(schemaNames.map((n) => [n, n])) as Record<string, SchemaName>,
      `one of ${schemaNames.join(', ')}`,
    ),
    default: undefined,
    shown: 'detected (original with --format json)',
    flag: '--schema',
    arg: '<name>',
    env: 'LOGHOUR_SCHEMA',
    help: `where JSON records keep the time, address and status (given, it is not guessed): ${schemaNames.map((n) => `${n} (${SCHEMAS[n].producer}: ${Object.values(SCHEMAS[n].fields).join(', ')})`).join('; ')}`,
    optionHelp: `a preset of \`fields\` and \`timeUnit\`: ${schemaNames.map((n) => `\`'${n}'\``).join(', ')} (docs/your-logs.md)`,
  }),
  fields: declare({
    group: 'consumer',
    kind: fields,
    default: {},
    shown: "the schema's",
    flag: '--field',
    arg: '<name=path>',
    env: 'LOGHOUR_FIELDS',
    repeatable: true,
    help: 'where one field is, overriding the schema: time=PATH, ip=PATH or status=PATH, PATH a dotted path such as http.response.status_code (repeatable; the environment joins them with ",")',
    optionHelp: "dotted paths of `time`, `ip`, `status`, each overriding the schema's (nested objects or flattened keys)",
  }),
  timeUnit: declare({
    group: 'consumer',
    kind: choice<TimeUnit>({ s: 's', ms: 'ms', us: 'us', ns: 'ns' }, 's, ms, us or ns'),
    default: undefined,
    shown: "the schema's (ms for pino-http, s otherwise)",
    flag: '--time-unit',
    arg: '<unit>',
    env: 'LOGHOUR_TIME_UNIT',
    help: 'unit of epoch times (numbers, or numeric strings): s, ms, us or ns; fractions allowed',
  }),
  timezone: declare({
    group: 'consumer',
    kind: timeZone(),
    default: undefined,
    shown: 'none: hours as written',
    flag: '--timezone',
    arg: '<zone>',
    env: 'LOGHOUR_TIMEZONE',
    help: "count hours and weekdays on this zone's clock (IANA name: Europe/Berlin, UTC); times with an offset, and epoch times, are converted to it",
  }),
  sourceTimezone: declare({
    group: 'consumer',
    kind: timeZone(),
    default: undefined,
    shown: 'the same as --timezone',
    flag: '--source-timezone',
    arg: '<zone>',
    env: 'LOGHOUR_SOURCE_TIMEZONE',
    help: 'the zone of times written without an offset (needs --timezone)',
    optionHelp: 'the zone of times written without an offset (needs `timezone`)',
  }),
  envelope: declare({
    group: 'consumer',
    kind: text(256, null, 'a field name or dotted path'),
    default: undefined,
    shown: 'none',
    flag: '--envelope',
    arg: '<field>',
    env: 'LOGHOUR_ENVELOPE',
    help: "each JSON line carries the record as the string value of this field, read with --format (Vector's message, Docker's log)",
    optionHelp: 'each JSON line carries the record as the string value of this field, read with `format`',
  }),
  framing: declare({
    group: 'consumer',
    kind: choice<RecordFraming>({ lines: 'lines', 'json-stream': 'json-stream' }, 'lines or json-stream'),
    default: undefined,
    shown: 'detected (lines with --format json or clf)',
    flag: '--framing',
    arg: '<framing>',
    env: 'LOGHOUR_FRAMING',
    help: 'lines (one record per line) or json-stream (JSON objects back to back, newlines or not: Logstash json codec, Fluent Bit json_stream)',
  }),
  redis: declare({
    kind: textOnly('redis://host:port[/db], rediss://…, or host[:port]', redisAddress),
    default: undefined,
    shown: 'none: in-memory store',
    flag: '--redis',
    arg: '<url>',
    env: 'REDIS_ADDRESS',
    redact: true,
    help: 'Redis for the hourly counts: redis://[user:password@]host:port[/db], rediss://… (TLS), or host[:port]; empty = none',
  }),
  redisCluster: declare({
    kind: textOnly(
      'HOST:PORT[,HOST:PORT…] (or redis:// / rediss:// URLs, whose user, password and TLS apply to every node)',
      clusterNodes,
      (nodes) => nodes.join(','),
    ),
    default: undefined,
    shown: 'none',
    flag: '--redis-cluster',
    arg: '<nodes>',
    env: 'REDIS_CLUSTER_NODES',
    redact: true,
    help: 'a Redis Cluster for the hourly counts, by some of its nodes: HOST:PORT[,HOST:PORT…], or rediss://[user:password@]HOST:PORT,… (TLS, AUTH); instead of --redis',
  }),
  redisCa: declare({
    kind: textOnly('a PEM file', (raw) => (raw.length > 0 ? raw : undefined)),
    default: undefined,
    security: true,
    shown: "the system's CAs",
    flag: '--redis-ca',
    arg: '<file>',
    env: 'REDIS_TLS_CA',
    help: 'rediss://: trust the Redis server certificates this CA signed (PEM)',
  }),
  redisCert: declare({
    kind: textOnly('a PEM file', (raw) => (raw.length > 0 ? raw : undefined)),
    default: undefined,
    security: true,
    shown: 'none',
    flag: '--redis-cert',
    arg: '<file>',
    env: 'REDIS_TLS_CERT',
    help: 'rediss://: the client certificate to present (PEM; with --redis-key), for a Redis with tls-auth-clients',
  }),
  redisKey: declare({
    kind: textOnly('a PEM file', (raw) => (raw.length > 0 ? raw : undefined)),
    default: undefined,
    security: true,
    shown: 'none',
    flag: '--redis-key',
    arg: '<file>',
    env: 'REDIS_TLS_KEY',
    help: "rediss://: the client certificate's private key (PEM)",
  }),
  keyPrefix: declare({
    optionHelp: 'hour `H` is the key `<keyPrefix><H>`',
    group: 'consumer',
    kind: text(
      512,
      keyPrefixProblem,
      'a non-empty string of at most 512 characters (braces only as one cluster hash tag, like {loghour}error_hour_)',
    ),
    // The original's README and .env say REDIS_HOUR_KEY_PREFIX; its config.py reads REDIS_KEY_PREFIX.
    default: 'error_hour_',
    flag: '--key-prefix',
    arg: '<prefix>',
    env: 'REDIS_HOUR_KEY_PREFIX',
    aliases: ['REDIS_KEY_PREFIX'],
    help: 'hour H is stored under <prefix>H',
  }),
  statsIntervalMs: declare({
    kind: duration(0, 86_400_000, 's'),
    default: 60_000,
    flag: '--stats-interval',
    arg: '<seconds>',
    env: 'REDIS_HOUR_STATS_INTERVAL',
    help: 'log the peak hour, the per-hour table and throughput this often (0 = never)',
  }),
  logLevel: declare({
    kind: choice<LogLevel>(
      {
        trace: 'trace',
        debug: 'debug',
        info: 'info',
        warn: 'warn',
        warning: 'warn',
        error: 'error',
        fatal: 'fatal',
        critical: 'fatal',
        silent: 'silent',
      },
      'one of trace, debug, info, warn (warning), error, fatal (critical), silent, in any case',
    ),
    default: 'info',
    flag: '--log-level',
    arg: '<level>',
    env: 'LOG_LEVEL',
    help: 'least severe level logged: trace, debug, info, warn (warning), error, fatal (critical), silent; any case',
  }),
  logFile: declare({
    kind: textOnly('a file path; placeholders {time} or {time:FORMAT} only, {{ and }} for braces', (raw) =>
      raw.length > 0 && templateProblem(raw) === null ? raw : undefined,
    ),
    default: undefined,
    shown: 'stdout',
    flag: '--log-file',
    arg: '<path>',
    env: 'LOG_FILENAME',
    help: 'log to this file; {time:YYYY-MM-DD} (loguru tokens) is filled in when it is opened, as the original did',
  }),
  logRotation: declare({
    kind: textOnly(
      'a size (500 MB, 1 GiB), an interval (12 hours, 1 day), hourly, daily, weekly, a time (00:00), several joined by ",", or none',
      parseRotation,
    ),
    default: { bytes: 500e6 },
    shown: '500 MB',
    flag: '--log-rotation',
    arg: '<when>',
    env: 'LOG_FILE_ROTATION',
    help: 'rotate the log file (renamed <name>.<YYYY-MM-DD_HH-mm-ss_SSSSSS>.log, as loguru did) at this size or time',
  }),
  logRetention: declare({
    kind: integer(0, 100_000),
    default: 14,
    flag: '--log-retention',
    arg: '<files>',
    env: 'LOG_FILE_RETENTION',
    help: 'rotated log files kept, the newest (0 = all, as the original)',
  }),
  logFormat: declare({
    kind: choice<LogFormat>({ auto: 'auto', json: 'json', pretty: 'pretty' }, 'auto, json or pretty'),
    default: 'auto',
    flag: '--log-format',
    arg: '<format>',
    env: 'LOGHOUR_LOG_FORMAT',
    help: 'json (one JSON object per line), pretty (human lines), or auto: pretty on a terminal, JSON otherwise',
  }),
  flushIntervalMs: declare({
    optionHelp: 'how often a remote store receives changes',
    group: 'consumer',
    kind: duration(10, 86_400_000, 'ms'),
    default: 1000,
    flag: '--flush-interval',
    arg: '<ms>',
    env: 'LOGHOUR_FLUSH_INTERVAL_MS',
    help: 'how often changes are merged into Redis, or written to the snapshot',
  }),
  redisTimeoutMs: declare({
    optionHelp: 'how long a merge or count waits for Redis, and the first connection attempt',
    group: 'consumer',
    kind: duration(10, 600_000, 'ms'),
    default: 5000,
    flag: '--redis-timeout',
    arg: '<ms>',
    env: 'LOGHOUR_REDIS_TIMEOUT_MS',
    help: 'how long a merge waits for Redis before its changes are kept for the next flush',
  }),
  minReplicas: declare({
    group: 'consumer',
    kind: integer(0, 64),
    default: undefined,
    shown: 'the replicas each shard has (CLUSTER SHARDS, failed ones too; for one Redis the most it had since start), never lowered',
    flag: '--min-replicas',
    arg: '<n>',
    env: 'LOGHOUR_MIN_REPLICAS',
    help: 'a merge counts as confirmed once Redis reports it on this many replicas (WAIT); until then it is kept and merged again (0: the master alone confirms)',
    optionHelp:
      'replicas that must hold a merge (Redis `WAIT`) before it counts as confirmed; default: the replicas each shard is configured with, never lowered by a replica that fails (`0`: the master alone)',
  }),
  daily: declare({
    group: 'consumer',
    kind: boolean(),
    default: false,
    flag: '--daily',
    env: 'LOGHOUR_DAILY',
    help: 'also count each day on its own, in Redis keys {<prefix>H}:YYYY-MM-DD (or in memory and the snapshot): date windows and the weekday heatmap',
    optionHelp:
      'also keep a sketch per (day, hour) (Redis keys `{<keyPrefix>H}:YYYY-MM-DD`), for `stats({ from, to, days, by })`; see docs/daily.md',
  }),
  retainDays: declare({
    group: 'consumer',
    kind: integer(1, 3660),
    default: 35,
    flag: '--retain-days',
    arg: '<days>',
    env: 'LOGHOUR_RETAIN_DAYS',
    help: 'with --daily: keep each day this many days after it (Redis PEXPIREAT at the end of day+N in --timezone; memory drops older days)',
    optionHelp: 'with `daily`: days kept after each day (Redis `PEXPIREAT`; memory drops older days), which bounds memory',
  }),
  allUsers: declare({
    group: 'consumer',
    kind: boolean(),
    default: false,
    flag: '--all-users',
    env: 'LOGHOUR_ALL_USERS',
    help: 'also count every user of each working-day hour, whatever the status (Redis keys <users-key-prefix>H): the share of users hurt',
    optionHelp:
      'also keep every user of each working-day hour, whatever the status (Redis keys `<usersKeyPrefix><H>`): `users` and `share` in `stats()`',
  }),
  usersKeyPrefix: declare({
    optionHelp: 'with `allUsers`: hour `H` of every user is the key `<usersKeyPrefix><H>`',
    group: 'consumer',
    kind: text(
      512,
      keyPrefixProblem,
      'a non-empty string of at most 512 characters (braces only as one cluster hash tag, like {loghour}user_hour_)',
    ),
    default: 'user_hour_',
    flag: '--users-key-prefix',
    arg: '<prefix>',
    env: 'LOGHOUR_USERS_KEY_PREFIX',
    help: 'with --all-users: hour H of every user is stored under <prefix>H',
  }),
  minUsers: declare({
    optionHelp: 'with `allUsers`: the hour of the largest share is chosen among hours with at least this many users',
    group: 'consumer',
    kind: integer(1, 1_000_000_000),
    default: 100,
    flag: '--min-users',
    arg: '<n>',
    env: 'LOGHOUR_MIN_USERS',
    help: 'with --all-users: the hour of the largest share hurt is chosen among hours with at least this many users (a small sample is not a rate)',
  }),
  groupBy: declare({
    optionHelp:
      'also count the 5xx users of each hour by the value of this field: a dotted JSON path (`service`, `url.path`), `path` or `method` for Combined lines, `route` for the middleware',
    group: 'consumer',
    kind: text(512, null, 'a field name: a dotted JSON path (service, url.path), or path or method for Combined lines'),
    default: undefined,
    shown: 'none',
    flag: '--group-by',
    arg: '<field>',
    env: 'LOGHOUR_GROUP_BY',
    help: 'also count the 5xx users of each hour by the value of this field: a dotted JSON path (service, host, url.path), or path (the route) or method for Combined lines',
  }),
  maxGroups: declare({
    optionHelp: 'with `groupBy`: values kept; the records of later values go to `(other)`',
    group: 'consumer',
    kind: integer(1, 100_000),
    default: 1000,
    flag: '--max-groups',
    arg: '<n>',
    env: 'LOGHOUR_MAX_GROUPS',
    help: 'with --group-by: values kept, which bounds memory and Redis keys; the records of later values go to (other)',
  }),
  top: declare({
    optionHelp: 'with `groupBy`: the values with the most users shown in `stats()`',
    group: 'consumer',
    kind: integer(1, 1000),
    default: 10,
    flag: '--top',
    arg: '<n>',
    env: 'LOGHOUR_TOP',
    help: 'with --group-by: the values with the most users shown (stats, dashboard, metrics)',
  }),
  snapshot: declare({
    optionHelp: 'memory store: restore from / save to this file (atomic, checksummed; checked at creation)',
    group: 'consumer',
    kind: text(4096, null, 'a file path'),
    default: undefined,
    shown: 'none',
    flag: '--snapshot',
    arg: '<file>',
    env: 'LOGHOUR_SNAPSHOT',
    help: 'in-memory store: restore counts from this file at start, save them atomically while running and at exit',
  }),
  maxConnections: declare({
    optionHelp: 'connections beyond this are refused (fewer where `ulimit -n` leaves room for fewer)',
    group: 'listen',
    kind: integer(1, 1_000_000),
    default: 10_000,
    flag: '--max-connections',
    arg: '<n>',
    env: 'LOGHOUR_MAX_CONNECTIONS',
    help: 'connections beyond this are refused (fewer where the open-file limit, ulimit -n, leaves room for fewer)',
  }),
  idleTimeoutMs: declare({
    optionHelp: 'close connections silent for this long (0 = never)',
    group: 'listen',
    kind: duration(0, 86_400_000, 's'),
    default: 300_000,
    flag: '--idle-timeout',
    arg: '<seconds>',
    env: 'LOGHOUR_IDLE_TIMEOUT',
    help: 'close connections silent for this long, so idle clients cannot hold every connection slot (0 = never, as the original)',
  }),
  drainTimeoutMs: declare({
    optionHelp: 'on close, how long connections may go on delivering what they already sent',
    group: 'listen',
    kind: duration(0, 3_600_000, 's'),
    default: 5000,
    flag: '--drain-timeout',
    arg: '<seconds>',
    env: 'LOGHOUR_DRAIN_TIMEOUT',
    help: 'at shutdown, how long connections may finish delivering what they sent',
  }),
  maxBufferedBytes: declare({
    optionHelp: 'budget for the unfinished lines of all connections; over it, those holding the largest are closed (0 = none)',
    group: 'listen',
    kind: integer(0, 2 ** 40),
    default: 64 << 20,
    shown: '67108864 (64 MiB)',
    flag: '--max-buffered',
    arg: '<bytes>',
    env: 'LOGHOUR_MAX_BUFFERED_BYTES',
    help: 'budget for unfinished lines of all connections; a read that takes them over it closes the connections holding the largest until it holds again (0 = none)',
  }),
  closeTimeoutMs: declare({
    optionHelp: 'how long `close()` retries the final flush while Redis is unreachable, then rejects',
    group: 'consumer',
    kind: duration(0, 3_600_000, 's'),
    default: 10_000,
    flag: '--close-timeout',
    arg: '<seconds>',
    env: 'LOGHOUR_CLOSE_TIMEOUT',
    help: 'at shutdown, how long the final flush is retried while Redis is unreachable or has not confirmed (then exit 1)',
  }),
  portableReads: declare({
    optionHelp: "read connections through Node's public `'data'` events instead of one shared buffer",
    group: 'listen',
    kind: boolean(),
    default: false,
    flag: '--portable-reads',
    env: 'LOGHOUR_PORTABLE_READS',
    help: "read connections through Node's public 'data' events instead of one shared buffer (slower; for a Node whose socket internals differ)",
  }),
  tlsCert: declare({
    kind: textOnly('a PEM file', (raw) => (raw.length > 0 ? raw : undefined)),
    default: undefined,
    security: true,
    shown: 'none: plain TCP',
    flag: '--tls-cert',
    arg: '<file>',
    env: 'LOGHOUR_TLS_CERT',
    help: 'serve the TCP input over TLS with this certificate chain (PEM; with --tls-key); re-read on SIGHUP',
  }),
  tlsKey: declare({
    kind: textOnly('a PEM file', (raw) => (raw.length > 0 ? raw : undefined)),
    default: undefined,
    security: true,
    shown: 'none',
    flag: '--tls-key',
    arg: '<file>',
    env: 'LOGHOUR_TLS_KEY',
    help: "the TLS certificate's private key (PEM); re-read on SIGHUP",
  }),
  tlsCa: declare({
    kind: textOnly('a PEM file', (raw) => (raw.length > 0 ? raw : undefined)),
    default: undefined,
    security: true,
    shown: 'none',
    flag: '--tls-ca',
    arg: '<file>',
    env: 'LOGHOUR_TLS_CA',
    help: 'with --tls-client-auth: accept client certificates this CA signed (PEM); re-read on SIGHUP',
  }),
  tlsClientAuth: declare({
    kind: boolean(),
    default: false,
    flag: '--tls-client-auth',
    env: 'LOGHOUR_TLS_CLIENT_AUTH',
    help: 'mutual TLS: refuse clients without a certificate signed by --tls-ca',
  }),
  http: declare({
    kind: textOnly('HOST:PORT, e.g. 127.0.0.1:9464 or [::1]:9464 (port 0: any free port)', httpAddress, (v) => `${v.host}:${v.port}`),
    default: undefined,
    shown: 'off',
    flag: '--http',
    arg: '<host:port>',
    env: 'LOGHOUR_HTTP',
    help: 'serve the live dashboard (/), /events, /metrics (Prometheus), /healthz, /readyz, /stats, POST /ingest and POST /v1/logs (OTLP) over HTTP on this address (loopback unless you bind otherwise)',
  }),
  otlpGrpc: declare({
    kind: textOnly('HOST:PORT, e.g. 127.0.0.1:4317 (port 0: any free port)', httpAddress, (v) => `${v.host}:${v.port}`),
    default: undefined,
    shown: 'off',
    flag: '--otlp-grpc',
    arg: '<host:port>',
    env: 'LOGHOUR_OTLP_GRPC',
    help: "serve OTLP/gRPC logs (LogsService/Export) on this address, with the TCP input's TLS certificate when it has one and the token, body limit and acknowledgement of POST /ingest (OTLP/HTTP is POST /v1/logs on --http)",
  }),
  kafka: declare({
    kind: textOnly('Kafka brokers HOST:PORT joined by ","', kafkaBrokers, (v) => v.join(',')),
    default: undefined,
    shown: 'off',
    flag: '--kafka',
    arg: '<brokers>',
    env: 'LOGHOUR_KAFKA_BROKERS',
    help: 'also read records from Kafka in a consumer group (needs --kafka-topic); offsets are committed once Redis (or the snapshot) confirmed what they hold, never with memory alone (a restart reads again what Kafka kept)',
  }),
  kafkaTopic: declare({
    kind: textOnly('Kafka topic names joined by ","', kafkaTopics, (v) => v.join(',')),
    default: undefined,
    shown: 'none',
    flag: '--kafka-topic',
    arg: '<topics>',
    env: 'LOGHOUR_KAFKA_TOPICS',
    help: 'with --kafka: the topics whose messages hold records (a message is one record, or several separated by newlines)',
  }),
  kafkaGroup: declare({
    kind: text(249, null, 'a consumer group id of at most 249 characters'),
    default: 'loghour',
    flag: '--kafka-group',
    arg: '<id>',
    env: 'LOGHOUR_KAFKA_GROUP',
    help: 'with --kafka: the consumer group the servers share (its partitions are spread over them)',
  }),
  kafkaFrom: declare({
    kind: choice<'earliest' | 'latest'>({ earliest: 'earliest', latest: 'latest' }, 'earliest or latest'),
    default: 'earliest',
    flag: '--kafka-from',
    arg: '<where>',
    env: 'LOGHOUR_KAFKA_FROM',
    help: 'with --kafka: where a group without committed offsets starts: the oldest message kept, or new ones only',
  }),
  kafkaTls: declare({
    kind: boolean(),
    default: false,
    flag: '--kafka-tls',
    env: 'LOGHOUR_KAFKA_TLS',
    help: "with --kafka: TLS to the brokers (their certificates checked against --kafka-ca, else the system's CAs)",
  }),
  kafkaCa: declare({
    kind: textOnly('a PEM file', (raw) => (raw.length > 0 ? raw : undefined)),
    default: undefined,
    security: true,
    shown: "the system's CAs",
    flag: '--kafka-ca',
    arg: '<file>',
    env: 'LOGHOUR_KAFKA_CA',
    help: 'with --kafka-tls: trust the broker certificates this CA signed (PEM)',
  }),
  kafkaCert: declare({
    kind: textOnly('a PEM file', (raw) => (raw.length > 0 ? raw : undefined)),
    default: undefined,
    security: true,
    shown: 'none',
    flag: '--kafka-cert',
    arg: '<file>',
    env: 'LOGHOUR_KAFKA_CERT',
    help: 'with --kafka-tls: the client certificate to present (PEM; with --kafka-key), for brokers with ssl.client.auth=required',
  }),
  kafkaKey: declare({
    kind: textOnly('a PEM file', (raw) => (raw.length > 0 ? raw : undefined)),
    default: undefined,
    security: true,
    shown: 'none',
    flag: '--kafka-key',
    arg: '<file>',
    env: 'LOGHOUR_KAFKA_KEY',
    help: "with --kafka-tls: the client certificate's private key (PEM)",
  }),
  kafkaSasl: declare({
    kind: choice<'plain' | 'scram-sha-256' | 'scram-sha-512'>(
      { plain: 'plain', 'scram-sha-256': 'scram-sha-256', 'scram-sha-512': 'scram-sha-512' },
      'plain, scram-sha-256 or scram-sha-512',
    ),
    default: undefined,
    security: true,
    shown: 'none',
    flag: '--kafka-sasl',
    arg: '<mechanism>',
    env: 'LOGHOUR_KAFKA_SASL',
    help: 'with --kafka: authenticate with SASL PLAIN or SCRAM-SHA-256/512 as --kafka-username, the password only from LOGHOUR_KAFKA_PASSWORD',
  }),
  kafkaUsername: declare({
    kind: text(255, null, 'a user name of at most 255 characters'),
    default: undefined,
    security: true,
    shown: 'none',
    flag: '--kafka-username',
    arg: '<name>',
    env: 'LOGHOUR_KAFKA_USERNAME',
    help: 'with --kafka-sasl: the SASL user name',
  }),
  httpTlsCert: declare({
    kind: textOnly('a PEM file', (raw) => (raw.length > 0 ? raw : undefined)),
    default: undefined,
    security: true,
    shown: 'none: plain HTTP',
    flag: '--http-tls-cert',
    arg: '<file>',
    env: 'LOGHOUR_HTTP_TLS_CERT',
    help: 'serve --http over HTTPS with this certificate chain (PEM; with --http-tls-key): the dashboard, /metrics and POST /ingest; re-read on SIGHUP',
  }),
  httpTlsKey: declare({
    kind: textOnly('a PEM file', (raw) => (raw.length > 0 ? raw : undefined)),
    default: undefined,
    security: true,
    shown: 'none',
    flag: '--http-tls-key',
    arg: '<file>',
    env: 'LOGHOUR_HTTP_TLS_KEY',
    help: "the HTTPS certificate's private key (PEM); re-read on SIGHUP",
  }),
  maxBodyBytes: declare({
    kind: integer(1, 2 ** 32),
    default: 16 << 20,
    shown: '16777216 (16 MiB)',
    flag: '--max-body',
    arg: '<bytes>',
    env: 'LOGHOUR_MAX_BODY',
    help: 'largest body POST /ingest takes, in decoded bytes; over it the answer is 413 (the records before the limit count)',
  }),
  ingestToken: declare({
    // RFC 6750's b64token: what a client can send in a header exactly as configured.
    kind: textOnly('a token of 1 to 4096 characters A-Z a-z 0-9 - . _ ~ + / (then = only)', (raw) =>
      /^[A-Za-z0-9\-._~+/]{1,4096}=*$/.test(raw) && raw.length <= 4096 ? raw : undefined,
    ),
    default: undefined,
    security: true,
    shown: 'none: no token asked',
    flag: '--ingest-token',
    arg: '<token>',
    env: 'LOGHOUR_INGEST_TOKEN',
    redact: true,
    help: 'POST /ingest requires "Authorization: Bearer <token>" (compared in constant time); other endpoints stay open',
  }),
  ingestOrigins: declare({
    kind: textOnly('web origins (https://app.example.com) joined by ",", or * for any', ingestOrigins, (v) => v.join(',')),
    default: undefined,
    security: true,
    shown: 'none: browsers refused',
    flag: '--ingest-origins',
    arg: '<origins>',
    env: 'LOGHOUR_INGEST_ORIGINS',
    help: 'web pages of these origins may POST /ingest from a browser; any other request with an Origin header (or Sec-Fetch-Site cross-site) is 403, so a page cannot inject records (shippers send neither)',
  }),
  ingestAck: declare({
    kind: choice<'counted' | 'flushed'>({ counted: 'counted', flushed: 'flushed' }, 'counted or flushed'),
    default: 'counted',
    flag: '--ingest-ack',
    arg: '<when>',
    env: 'LOGHOUR_INGEST_ACK',
    help: 'when POST /ingest answers 200: once every record of the body is counted, or once the store also confirmed it (flushed; ?sync=1 asks it per request)',
  }),
  tls: declare({
    group: 'listen',
    kind: inputTls,
    default: undefined,
    shown: 'none: plain TCP',
    optionHelp: 'TLS on the TCP input: `{ cert, key }` PEM, and `ca` with `clientAuth: true` for mutual TLS',
  }),
  store: declare({
    group: 'consumer',
    kind: store,
    default: 'memory',
    redact: true,
    optionHelp: "`'memory'`, or `{ redis: 'redis://…' }`, or `{ redis: <ioredis Redis or Cluster> }` (yours stays open)",
  }),
} as const

type Declarations = typeof DECLARATIONS
/** The name of a setting. */
export type SettingKey = keyof Declarations
/** The value type of a setting. */
export type SettingValue<K extends SettingKey> =
  | (Declarations[K]['kind'] extends Kind<infer T> ? T : never)
  | (undefined extends Declarations[K]['default'] ? undefined : never)
/** Settings the command line and the environment set. */
export type FlagKey = { [K in SettingKey]: Declarations[K] extends { flag: string } ? K : never }[SettingKey]
/** Settings that are library options of `group`. */
export type GroupKey<G extends OptionGroup> = { [K in SettingKey]: Declarations[K] extends { group: G } ? K : never }[SettingKey]

/** Every setting by name, with its derived texts. */
export const SETTINGS = Object.freeze(
  Object.fromEntries(
    Object.entries(DECLARATIONS).map(([key, d]) => {
      const declaration = d as SettingDeclaration<unknown>
      const shown = declaration.shown ?? declaration.kind.show(declaration.default)
      const value =
        typeof declaration.default === 'object' && declaration.default !== null
          ? Object.freeze({ ...declaration.default })
          : declaration.default
      return [key, Object.freeze({ ...declaration, default: value, key, shown, accepts: declaration.kind.textAccepts })]
    }),
  ),
) as unknown as { readonly [K in SettingKey]: Declarations[K] & { readonly key: K; readonly shown: string; readonly accepts: string } }

/** A setting the command line and the environment set. */
export type FlagSetting = Setting & { readonly flag: `--${string}`; readonly env: string }

/** The settings with a flag, in `--help` order. */
export const FLAG_SETTINGS: readonly FlagSetting[] = (Object.values(SETTINGS) as Setting[]).filter(
  (s): s is FlagSetting => s.flag !== undefined,
)

/** The settings that are library options of `group`. */
export function optionSettings(group: OptionGroup): Setting[] {
  return Object.values(SETTINGS).filter((s) => 'group' in s && s.group === group) as Setting[]
}

/** The defaults of the library options of `group`. */
export function optionDefaults<G extends OptionGroup>(group: G): { readonly [K in GroupKey<G>]: SettingValue<K> } {
  return Object.freeze(Object.fromEntries(optionSettings(group).map((s) => [s.key, s.default]))) as never
}
