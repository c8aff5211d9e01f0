// Schemas: presets of the format, field paths and epoch unit of the logs people have, and how a
// consumer's reading options become the rule the native core applies.
import type { NativeReading, NativeRule } from './native.js'

/** Names of the JSON fields (dotted paths) a record is read from. */
export interface FieldPaths {
  time: string
  ip: string
  status: string
}

/** Unit of epoch times. */
export type TimeUnit = 's' | 'ms' | 'us' | 'ns'

/** A preset: where a producer writes the time, the address and the status. */
export interface Schema {
  /** Who writes it, in a few words (for --help). */
  readonly producer: string
  readonly fields: Readonly<FieldPaths>
  readonly timeUnit: TimeUnit
}

/** Every schema by name, `original` (the default) first. */
export const SCHEMAS = {
  original: {
    producer: 'the original service, and the nginx and Apache JSON log formats of docs/your-logs.md',
    fields: { time: 'time', ip: 'ip', status: 'status_code' },
    timeUnit: 's',
  },
  ecs: {
    producer: 'Elastic Common Schema: Filebeat, Logstash, Elastic agents',
    fields: { time: '@timestamp', ip: 'source.ip', status: 'http.response.status_code' },
    timeUnit: 's',
  },
  caddy: {
    producer: 'Caddy',
    fields: { time: 'ts', ip: 'request.remote_ip', status: 'status' },
    timeUnit: 's',
  },
  'pino-http': {
    producer: 'Node, epoch ms',
    fields: { time: 'time', ip: 'req.remoteAddress', status: 'res.statusCode' },
    timeUnit: 'ms',
  },
  traefik: {
    producer: 'Traefik',
    fields: { time: 'time', ip: 'ClientHost', status: 'DownstreamStatus' },
    timeUnit: 's',
  },
  gcp: {
    producer: 'Google Cloud load balancers',
    fields: { time: 'timestamp', ip: 'httpRequest.remoteIp', status: 'httpRequest.status' },
    timeUnit: 's',
  },
} as const satisfies Record<string, Schema>

/** The name of a schema. */
export type SchemaName = keyof typeof SCHEMAS

/** The consumer options that say how records are read (a scanner takes them too). */
export const READING_OPTIONS = ['format', 'schema', 'fields', 'timeUnit', 'timezone', 'sourceTimezone', 'envelope', 'framing'] as const

/** The reading options of a consumer, resolved. */
export interface ReadingOptions {
  format: 'auto' | 'json' | 'clf'
  schema: SchemaName | undefined
  fields: Partial<FieldPaths>
  timeUnit: TimeUnit | undefined
  timezone: string | undefined
  sourceTimezone: string | undefined
  envelope: string | undefined
  framing: 'lines' | 'json-stream' | undefined
}

/** Envelope fields `--format auto` looks inside (Vector's `message`; Docker's and Fluent Bit's `log`). */
export const AUTO_ENVELOPES = ['message', 'log'] as const

/** The schema's field paths with the overrides applied. */
export function fieldPaths(options: Pick<ReadingOptions, 'schema' | 'fields'>): FieldPaths {
  const given = Object.fromEntries(Object.entries(options.fields).filter(([, v]) => v !== undefined))
  return { ...SCHEMAS[options.schema ?? 'original'].fields, ...given }
}

/** Whether the JSON reading is set (a schema, a field or a time unit given): it is then not guessed. */
function jsonIsSet(options: ReadingOptions): boolean {
  return options.schema !== undefined || options.timeUnit !== undefined || Object.values(options.fields).some((v) => v !== undefined)
}

/**
 * How JSON records are read. The original schema used as is (no field or unit override) keeps
 * the original service's rule exactly: a string status is `wrongType`, a time must be an ISO
 * string.
 */
function jsonReading(options: Pick<ReadingOptions, 'schema' | 'fields' | 'timeUnit'>) {
  const schema = options.schema ?? 'original'
  const overridden = Object.values(options.fields).some((v) => v !== undefined) || options.timeUnit !== undefined
  return {
    fields: fieldPaths(options),
    strict: schema === 'original' && !overridden,
    timeUnit: options.timeUnit ?? SCHEMAS[schema].timeUnit,
  }
}

/**
 * The rule the native core applies. With `format: 'auto'` each stream chooses among every schema,
 * Combined/Common lines, the usual field names and the envelopes; what the options set is not
 * guessed (a schema, field or unit fixes the JSON reading; an envelope or framing fixes itself).
 */
export function nativeRule(options: ReadingOptions): NativeRule {
  const base = {
    timezone: options.timezone,
    sourceTimezone: options.sourceTimezone,
    envelope: options.envelope,
  }
  if (options.format !== 'auto') {
    return { ...base, format: options.format, framing: options.framing ?? 'lines', ...jsonReading(options) }
  }
  const set = jsonIsSet(options)
  const candidates = set
    ? [{ name: options.schema ?? 'original', format: 'json', ...jsonReading(options) }]
    : [
        ...(Object.keys(SCHEMAS) as SchemaName[]).map((schema) => ({
          name: schema,
          format: 'json',
          ...jsonReading({ schema, fields: {}, timeUnit: undefined }),
        })),
        { name: 'clf', format: 'clf' },
      ]
  return {
    ...base,
    ...(options.framing === undefined ? {} : { framing: options.framing }),
    auto: {
      candidates,
      usualNames: !set,
      envelopes: set || options.envelope !== undefined ? [] : [...AUTO_ENVELOPES],
    },
  }
}

/** How a stream is read: what `--format auto` decided from its first records, or what was set. */
export interface Reading {
  /** A schema's name, `json` (the usual field names), `combined` or `common` (NCSA lines). */
  name: string
  format: 'json' | 'clf'
  framing: 'lines' | 'json-stream' | 'json-batch'
  /** The field of a JSON line whose string value is the record. */
  envelope?: string
  /** The fields read (JSON records). */
  fields?: FieldPaths
  timeUnit: TimeUnit
  /** The original service's rule (the original layout as is). */
  strict: boolean
  /** Decided from the first records (`format: 'auto'`), or set by the options. */
  detected: boolean
  /** Records sampled for the decision and how many of them the reading reads (detected only). */
  sampled?: number
  readable?: number
  /** The first sampled record it does not read (shortened), and why. */
  unreadable?: { line: string; reason: string }
  /**
   * Records the stream sent before any reading read one: they were counted invalid at once while
   * it kept looking (docs/contract.md). Absent when 0.
   */
  unreadBefore?: number
}

/** The reading the native core decided, in the library's shape. */
export function readingOf(native: NativeReading): Reading {
  return {
    name: native.name,
    format: native.format as Reading['format'],
    framing: native.framing as Reading['framing'],
    ...(native.envelope == null ? {} : { envelope: native.envelope }),
    ...(native.fields == null ? {} : { fields: native.fields as FieldPaths }),
    timeUnit: native.timeUnit as TimeUnit,
    strict: native.strict,
    detected: true,
    sampled: native.sampled,
    readable: native.readable,
    ...(native.unreadable == null ? {} : { unreadable: { line: native.unreadable, reason: native.unreadableReason ?? 'json' } }),
    ...(native.unreadBefore > 0 ? { unreadBefore: native.unreadBefore } : {}),
  }
}

/** The reading explicit options set (`format` json or clf). */
export function setReading(options: ReadingOptions): Reading {
  const json = jsonReading(options)
  return {
    name: options.format === 'clf' ? 'clf' : (options.schema ?? 'original'),
    format: options.format === 'clf' ? 'clf' : 'json',
    framing: options.framing ?? 'lines',
    ...(options.envelope === undefined ? {} : { envelope: options.envelope }),
    ...(options.format === 'clf' ? {} : { fields: json.fields }),
    timeUnit: json.timeUnit,
    strict: options.format !== 'clf' && json.strict,
    detected: false,
  }
}

/**
 * A reading in a few words: `nginx/Apache Combined log lines`, `caddy JSON (ts, request.remote_ip,
 * status)`, `JSON (time_iso8601, remote_addr, status) in the "message" field of JSON lines`.
 */
export function describeReading(reading: Reading): string {
  const fields = reading.fields === undefined ? '' : `${reading.fields.time}, ${reading.fields.ip}, ${reading.fields.status}`
  const unit = reading.timeUnit === 's' ? '' : `; epoch ${reading.timeUnit}`
  const what =
    reading.name === 'combined'
      ? 'nginx/Apache Combined log lines'
      : reading.name === 'common' || reading.name === 'clf'
        ? 'NCSA Common/Combined log lines'
        : reading.name === 'json'
          ? `JSON records (${fields}${unit})`
          : reading.name === 'original'
            ? `JSON records, original layout (${fields}${unit}${reading.strict ? '' : '; lenient'})`
            : `${reading.name} JSON records (${fields}${unit})`
  const inside = reading.envelope === undefined ? '' : ` in the "${reading.envelope}" field of JSON lines`
  const framing = reading.framing === 'lines' ? '' : ', JSON values back to back'
  return `${what}${inside}${framing}`
}

/**
 * How a native stream is read: what it decided (`format: 'auto'`; undefined until its first
 * records are in) or what the options set.
 */
export function streamReading(native: { reading(): NativeReading | null }, options: ReadingOptions): Reading | undefined {
  if (options.format !== 'auto') return setReading(options)
  const decided = native.reading()
  return decided == null ? undefined : readingOf(decided)
}
