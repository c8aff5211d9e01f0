// Schemas: presets of the format, field paths and epoch unit of the logs people have, and how a
// consumer's reading options become the rule the native core applies.
import type { NativeRule } from './native.js'

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
    producer: 'the original service, and the nginx and Apache JSON log formats of the README',
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
  format: 'json' | 'clf'
  schema: SchemaName
  fields: Partial<FieldPaths>
  timeUnit: TimeUnit | undefined
  timezone: string | undefined
  sourceTimezone: string | undefined
  envelope: string | undefined
  framing: 'lines' | 'json-stream'
}

/** The schema's field paths with the overrides applied. */
export function fieldPaths(options: Pick<ReadingOptions, 'schema' | 'fields'>): FieldPaths {
  const given = Object.fromEntries(Object.entries(options.fields).filter(([, v]) => v !== undefined))
  return { ...SCHEMAS[options.schema].fields, ...given }
}

/**
 * The rule the native core applies. The original schema used as is (no field or unit
 * override) keeps the original service's rule exactly: a string status is `wrongType`, a time
 * must be an ISO string.
 */
export function nativeRule(options: ReadingOptions): NativeRule {
  const overridden = Object.values(options.fields).some((v) => v !== undefined) || options.timeUnit !== undefined
  return {
    format: options.format,
    framing: options.framing,
    fields: fieldPaths(options),
    strict: options.schema === 'original' && !overridden,
    timeUnit: options.timeUnit ?? SCHEMAS[options.schema].timeUnit,
    timezone: options.timezone,
    sourceTimezone: options.sourceTimezone,
    envelope: options.envelope,
  }
}
