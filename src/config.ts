// loghour-server settings: command-line flags, then the environment, then a `.env` file in the
// working directory, then defaults. Environment names are the original service's where it had
// the setting, `LOGHOUR_*` for new ones.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse as parseDotenv } from 'dotenv'
import { parseRotation, templateProblem, type Rotation } from './log-file.js'
import { LIMITS } from './options.js'
import { keyPrefixProblem } from './stores/keys.js'
import { redactAddress } from './stores/redact.js'

/** Where a setting's value came from. */
export type SettingSource = 'flag' | 'environment' | '.env' | 'default'

/** A bad setting: the message names the setting, the value and what is accepted. */
export class SettingError extends Error {
  override name = 'SettingError'
}

/** Log levels, as pino names them. */
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent'

/** How log lines look: JSON lines, human lines, or human on a terminal and JSON elsewhere. */
export type LogFormat = 'auto' | 'json' | 'pretty'

export interface ServerSettings {
  host: string
  port: number
  maxLineBytes: number
  /** Redis URL, or undefined for the memory store. */
  redis: string | undefined
  keyPrefix: string
  /** Seconds between stats reports in the log; 0 = never. */
  statsIntervalS: number
  logLevel: LogLevel
  /** Log file name template (`{time:FORMAT}` filled in), or undefined for stdout. */
  logFile: string | undefined
  logRotation: Rotation
  /** Rotated log files kept; 0 = all. */
  logRetention: number
  logFormat: LogFormat
  flushIntervalMs: number
  redisTimeoutMs: number
  snapshot: string | undefined
  maxConnections: number
  /** Seconds; 0 = never. */
  idleTimeoutS: number
  /** Seconds. */
  drainTimeoutS: number
  closeTimeoutS: number
  maxBufferedBytes: number
}

interface SettingSpec<K extends keyof ServerSettings> {
  key: K
  flag: string
  arg: string
  env: string
  /** Other environment names read too (the original service's quirks); they must agree with `env`. */
  aliases?: readonly string[]
  /** Its value may hold a password: error messages show it masked. */
  redact?: boolean
  default: ServerSettings[K]
  /** Default as shown in --help. */
  shown: string
  help: string
  accepts: string
  parse(raw: string): ServerSettings[K] | undefined
}

const integer = (min: number, max: number) => (raw: string) => {
  const n = /^\s*\d+\s*$/.test(raw) ? Number(raw) : Number.NaN
  return Number.isSafeInteger(n) && n >= min && n <= max ? n : undefined
}
const seconds = (max: number) => (raw: string) => {
  const n = /^\s*\d+(\.\d+)?\s*$/.test(raw) ? Number(raw) : Number.NaN
  return Number.isFinite(n) && n <= max ? n : undefined
}
const text = (raw: string) => (raw.length > 0 ? raw : undefined)

const LEVELS: Record<string, LogLevel> = {
  trace: 'trace',
  debug: 'debug',
  info: 'info',
  warn: 'warn',
  warning: 'warn',
  error: 'error',
  fatal: 'fatal',
  critical: 'fatal',
  silent: 'silent',
}

/** Accepts `redis://…`, `rediss://…`, or `host[:port]` (the original service's form). */
export function redisAddress(raw: string): string | undefined {
  const value = raw.trim()
  const url = /^rediss?:\/\/\S+$/i.test(value)
    ? value
    : /^[A-Za-z0-9.\-_]+(:\d{1,5})?$/.test(value) || /^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/.test(value)
      ? `redis://${value}`
      : undefined
  // ioredis parses it with the URL parser: anything that parser refuses is refused here.
  return url !== undefined && URL.canParse(url) ? url : undefined
}

function spec<K extends keyof ServerSettings>(s: SettingSpec<K>): SettingSpec<K> {
  return s
}

/** Every setting of loghour-server, in --help order. */
export const SETTINGS = [
  spec({ key: 'host', flag: '--host', arg: '<address>', env: 'SERVER_HOST', default: '127.0.0.1', shown: '127.0.0.1', help: 'address to listen on', accepts: 'a host name or IP address', parse: text }),
  spec({ key: 'port', flag: '--port', arg: '<port>', env: 'SERVER_PORT', default: 2525, shown: '2525', help: 'TCP port to listen on (0 = any free port)', accepts: 'an integer from 0 to 65535', parse: integer(0, 65535) }),
  spec({
    key: 'maxLineBytes', flag: '--max-line-bytes', arg: '<bytes>', env: 'SERVER_BUFFER_LIMIT_SIZE', default: 65536, shown: '65536',
    help: 'longest line; longer ones are skipped unbuffered and counted invalid (tooLong)',
    accepts: `an integer from ${LIMITS.maxLineBytes.min} to ${LIMITS.maxLineBytes.max}`, parse: integer(LIMITS.maxLineBytes.min, LIMITS.maxLineBytes.max),
  }),
  spec({
    key: 'redis', flag: '--redis', arg: '<url>', env: 'REDIS_ADDRESS', default: undefined, shown: 'none: in-memory store',
    help: 'Redis for the hourly counts: redis://[user:password@]host:port[/db], rediss://… (TLS), or host[:port]; empty = none', accepts: 'redis://host:port[/db], rediss://…, or host[:port]', parse: redisAddress, redact: true,
  }),
  spec({
    // The original's README and .env say REDIS_HOUR_KEY_PREFIX; its config.py reads REDIS_KEY_PREFIX.
    key: 'keyPrefix', flag: '--key-prefix', arg: '<prefix>', env: 'REDIS_HOUR_KEY_PREFIX', aliases: ['REDIS_KEY_PREFIX'], default: 'error_hour_', shown: 'error_hour_',
    help: 'hour H is stored under <prefix>H', accepts: 'a non-empty string (braces only as one cluster hash tag, like {loghour}error_hour_)',
    parse: (raw) => (raw.length > 0 && raw.length <= 512 && keyPrefixProblem(raw) === null ? raw : undefined),
  }),
  spec({
    key: 'statsIntervalS', flag: '--stats-interval', arg: '<seconds>', env: 'REDIS_HOUR_STATS_INTERVAL', default: 60, shown: '60',
    help: 'log the peak hour, the per-hour table and throughput this often (0 = never)', accepts: 'a number of seconds from 0 to 86400', parse: seconds(86400),
  }),
  spec({
    key: 'logLevel', flag: '--log-level', arg: '<level>', env: 'LOG_LEVEL', default: 'info', shown: 'info',
    help: 'least severe level logged: trace, debug, info, warn (warning), error, fatal (critical), silent; any case', accepts: 'one of trace, debug, info, warn (warning), error, fatal (critical), silent, in any case',
    parse: (raw) => LEVELS[raw.trim().toLowerCase()],
  }),
  spec({
    key: 'logFile', flag: '--log-file', arg: '<path>', env: 'LOG_FILENAME', default: undefined, shown: 'stdout',
    help: 'log to this file; {time:YYYY-MM-DD} (loguru tokens) is filled in when it is opened, as the original did',
    accepts: 'a file path; placeholders {time} or {time:FORMAT} only, {{ and }} for braces',
    parse: (raw) => (raw.length > 0 && templateProblem(raw) === null ? raw : undefined),
  }),
  spec({
    key: 'logRotation', flag: '--log-rotation', arg: '<when>', env: 'LOG_FILE_ROTATION', default: { bytes: 500e6 }, shown: '500 MB',
    help: 'rotate the log file (renamed <name>.<YYYY-MM-DD_HH-mm-ss_SSSSSS>.log, as loguru did) at this size or time',
    accepts: 'a size (500 MB, 1 GiB), an interval (12 hours, 1 day), hourly, daily, weekly, a time (00:00), several joined by ",", or none',
    parse: parseRotation,
  }),
  spec({
    key: 'logRetention', flag: '--log-retention', arg: '<files>', env: 'LOG_FILE_RETENTION', default: 14, shown: '14',
    help: 'rotated log files kept, the newest (0 = all, as the original)', accepts: 'an integer from 0 to 100000', parse: integer(0, 100_000),
  }),
  spec({
    key: 'logFormat', flag: '--log-format', arg: '<format>', env: 'LOGHOUR_LOG_FORMAT', default: 'auto', shown: 'auto',
    help: 'json (one JSON object per line), pretty (human lines), or auto: pretty on a terminal, JSON otherwise',
    accepts: 'auto, json or pretty', parse: (raw) => (['auto', 'json', 'pretty'].includes(raw.trim().toLowerCase()) ? (raw.trim().toLowerCase() as LogFormat) : undefined),
  }),
  spec({
    key: 'flushIntervalMs', flag: '--flush-interval', arg: '<ms>', env: 'LOGHOUR_FLUSH_INTERVAL_MS', default: 1000, shown: '1000',
    help: 'how often changes are merged into Redis, or written to the snapshot',
    accepts: `an integer from ${LIMITS.flushIntervalMs.min} to ${LIMITS.flushIntervalMs.max}`, parse: integer(LIMITS.flushIntervalMs.min, LIMITS.flushIntervalMs.max),
  }),
  spec({
    key: 'redisTimeoutMs', flag: '--redis-timeout', arg: '<ms>', env: 'LOGHOUR_REDIS_TIMEOUT_MS', default: 5000, shown: '5000',
    help: 'how long a merge waits for Redis before its changes are kept for the next flush',
    accepts: `an integer from ${LIMITS.redisTimeoutMs.min} to ${LIMITS.redisTimeoutMs.max}`, parse: integer(LIMITS.redisTimeoutMs.min, LIMITS.redisTimeoutMs.max),
  }),
  spec({
    key: 'snapshot', flag: '--snapshot', arg: '<file>', env: 'LOGHOUR_SNAPSHOT', default: undefined, shown: 'none',
    help: 'in-memory store: restore counts from this file at start, save them atomically while running and at exit', accepts: 'a file path', parse: text,
  }),
  spec({
    key: 'maxConnections', flag: '--max-connections', arg: '<n>', env: 'LOGHOUR_MAX_CONNECTIONS', default: 10_000, shown: '10000',
    help: 'connections beyond this are refused (fewer where the open-file limit, ulimit -n, leaves room for fewer)', accepts: 'an integer from 1 to 1000000', parse: integer(1, 1_000_000),
  }),
  spec({
    key: 'idleTimeoutS', flag: '--idle-timeout', arg: '<seconds>', env: 'LOGHOUR_IDLE_TIMEOUT', default: 300, shown: '300',
    help: 'close connections silent for this long, so idle clients cannot hold every connection slot (0 = never, as the original)',
    accepts: 'a number of seconds from 0 to 86400', parse: seconds(86400),
  }),
  spec({
    key: 'drainTimeoutS', flag: '--drain-timeout', arg: '<seconds>', env: 'LOGHOUR_DRAIN_TIMEOUT', default: 5, shown: '5',
    help: 'at shutdown, how long connections may finish delivering what they sent', accepts: 'a number of seconds from 0 to 3600', parse: seconds(3600),
  }),
  spec({
    key: 'maxBufferedBytes', flag: '--max-buffered', arg: '<bytes>', env: 'LOGHOUR_MAX_BUFFERED_BYTES', default: 64 << 20, shown: '67108864 (64 MiB)',
    help: 'budget for unfinished lines of all connections; over it, the connections holding the largest are closed until it holds (0 = none)',
    accepts: 'an integer from 0 to 1099511627776', parse: integer(0, 2 ** 40),
  }),
  spec({
    key: 'closeTimeoutS', flag: '--close-timeout', arg: '<seconds>', env: 'LOGHOUR_CLOSE_TIMEOUT', default: 10, shown: '10',
    help: 'at shutdown, how long the final flush is retried while Redis is unreachable or has not confirmed (then exit 1)', accepts: 'a number of seconds from 0 to 3600', parse: seconds(3600),
  }),
] as const

/**
 * The settings as the README's configuration table (Markdown), generated so that it cannot
 * disagree with `--help` or the code.
 */
export function settingsTable(): string {
  const code = (text: string) => `\`${text}\``
  const rows = (SETTINGS as readonly SettingSpec<keyof ServerSettings>[]).map((s) => {
    const envs = [s.env, ...(s.aliases ?? [])].map(code).join(' or ')
    return `| ${code(`${s.flag} ${s.arg}`)} | ${envs} | ${s.shown} | ${s.help.replace(/\|/g, '\\|')} |`
  })
  return ['| flag | environment | default | meaning |', '| --- | --- | --- | --- |', ...rows].join('\n')
}

/** The environment names a setting is read from, as `--help` shows them. */
export function envNames(setting: { env: string; aliases?: readonly string[] }): string {
  return [setting.env, ...(setting.aliases ?? [])].join(' or ')
}

/** Reads `.env` in `dir`; a missing file is no settings. */
export function readDotenv(dir: string): Record<string, string> {
  try {
    return parseDotenv(readFileSync(join(dir, '.env')))
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {}
    throw new SettingError(`cannot read ${join(dir, '.env')}: ${(error as Error).message}`)
  }
}

/** Raw flag values by setting key, as given on the command line. */
export type SettingFlags = Partial<Record<keyof ServerSettings, string>>

/**
 * Resolves the settings `keys` by precedence: flags > environment > `.env` >
 * defaults. An environment name and its aliases must agree where both are set.
 * @throws {SettingError} for the first bad value
 */
export function resolveSettings<K extends keyof ServerSettings>(
  keys: readonly K[],
  flags: SettingFlags,
  env: NodeJS.ProcessEnv,
  dotenv: Record<string, string>,
): { settings: Pick<ServerSettings, K>; sources: Record<K, SettingSource> } {
  const settings = {} as Record<string, unknown>
  const sources = {} as Record<K, SettingSource>
  for (const s of SETTINGS.filter((spec) => (keys as readonly string[]).includes(spec.key))) {
    const spec = s as unknown as SettingSpec<K>
    const show = (raw: string) => JSON.stringify(spec.redact ? redactAddress(raw) : raw)
    const fromEnvironment = (vars: Record<string, string | undefined>, where: string): [string, string] | undefined => {
      const set = [spec.env, ...(spec.aliases ?? [])].filter((name) => vars[name] !== undefined).map((name) => [name, vars[name]!] as [string, string])
      const other = set.find(([, v]) => v !== set[0]![1])
      if (other) {
        throw new SettingError(`${set[0]![0]} ${show(set[0]![1])} and ${other[0]} ${show(other[1])} (${where}) disagree: set one of them`)
      }
      return set[0]
    }
    const candidates: [SettingSource, string, string | undefined][] = [
      ['flag', spec.flag, flags[spec.key]],
      ['environment', ...(fromEnvironment(env, 'from the environment') ?? [spec.env, undefined])],
      ['.env', ...(fromEnvironment(dotenv, 'from .env') ?? [spec.env, undefined])],
    ]
    const found = candidates.find(([, , v]) => v !== undefined)
    // An empty REDIS_ADDRESS (or other optional setting) means "not set", as in the original.
    if (!found || (found[2] === '' && spec.default === undefined)) {
      settings[spec.key] = spec.default
      sources[spec.key] = 'default'
      continue
    }
    const [source, name, raw] = found as [SettingSource, string, string]
    const value = spec.parse(raw)
    if (value === undefined) {
      const from = source === 'flag' ? '' : ` (from ${source === 'environment' ? 'the environment' : '.env'})`
      throw new SettingError(`invalid ${name} ${show(raw)}${from}: expected ${spec.accepts}`)
    }
    settings[spec.key] = value
    sources[spec.key] = source
  }
  return { settings: settings as Pick<ServerSettings, K>, sources }
}

/**
 * Resolves every setting of loghour-server by precedence: flags > environment > `.env` > defaults.
 * @throws {SettingError} for the first bad value, or settings that exclude each other
 */
export function resolveServerSettings(
  flags: SettingFlags,
  env: NodeJS.ProcessEnv,
  dotenv: Record<string, string>,
): { settings: ServerSettings; sources: Record<keyof ServerSettings, SettingSource> } {
  const { settings, sources } = resolveSettings(
    SETTINGS.map((s) => s.key),
    flags,
    env,
    dotenv,
  )
  if (settings.redis !== undefined && settings.snapshot !== undefined) {
    throw new SettingError(
      `invalid combination: ${sources.snapshot === 'flag' ? '--snapshot' : 'LOGHOUR_SNAPSHOT'} applies to the in-memory store, but Redis is set (${sources.redis === 'flag' ? '--redis' : 'REDIS_ADDRESS'}); drop one`,
    )
  }
  return { settings, sources }
}
