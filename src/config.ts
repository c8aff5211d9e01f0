// Settings of the command-line programs: flags, then the environment, then a `.env` file in the
// working directory, then defaults. Environment names are the original service's where it had
// the setting, `LOGHOUR_*` for new ones. What each setting is lives in ./settings.ts.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Option } from 'commander'
import { parse as parseDotenv } from 'dotenv'
import {
  FLAG_SETTINGS,
  type FlagKey,
  type FlagSetting,
  type InputTls,
  type OptionGroup,
  optionSettings,
  type RedisTls,
  SETTINGS,
  type SettingValue,
} from './settings.js'
import { hourKeysClash } from './stores/keys.js'
import { redactAddress } from './stores/redact.js'

export type { LogFormat, LogLevel } from './settings.js'

/** Where a setting's value came from. */
export type SettingSource = 'flag' | 'environment' | '.env' | 'default'

/** A bad setting: the message names the setting, the value and what is accepted. */
export class SettingError extends Error {
  override name = 'SettingError'
}

/** Every setting of loghour-server, resolved. */
export type ServerSettings = { [K in FlagKey]: SettingValue<K> }

/** Raw flag values by setting key, as given on the command line. */
export type SettingFlags = Partial<Record<FlagKey, string>>

/** The environment names a setting is read from, as `--help` shows them. */
export function envNames(setting: { env: string; aliases?: readonly string[] }): string {
  return [setting.env, ...(setting.aliases ?? [])].join(' or ')
}

/** The commander option of a setting: its flag, help, environment names and default. */
export function settingOption(key: FlagKey, options: { help?: string; env?: boolean } = {}): Option {
  const s = SETTINGS[key] as FlagSetting
  const env = options.env === false ? '' : `env ${envNames(s)}; `
  const option = new Option(`${s.flag}${s.arg ? ` ${s.arg}` : ''}`, `${options.help ?? s.help}\n[${env}default ${s.shown}]`)
  // Each repetition adds to the list, joined as the environment writes it.
  return s.repeatable
    ? option.argParser((value: string, previous?: string) => (previous === undefined ? value : `${previous},${value}`))
    : option
}

/** The name commander stores a flag's value under (`--max-line-bytes` → `maxLineBytes`). */
export function flagProperty(flag: string): string {
  return flag.slice(2).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())
}

/** Commander's parsed flags as raw setting values (an on/off flag given is "true"). */
export function settingFlags(keys: readonly FlagKey[], parsed: Record<string, unknown>): SettingFlags {
  const flags: SettingFlags = {}
  for (const key of keys) {
    const value = parsed[flagProperty((SETTINGS[key] as FlagSetting).flag)]
    if (value !== undefined) flags[key] = String(value)
  }
  return flags
}

/**
 * The settings as the README's configuration table (Markdown), generated so that it cannot
 * disagree with `--help` or the code.
 */
export function settingsTable(): string {
  const code = (text: string) => `\`${text}\``
  const rows = FLAG_SETTINGS.map((s) => {
    const envs = [s.env, ...(s.aliases ?? [])].map(code).join(' or ')
    return `| ${code(`${s.flag}${s.arg ? ` ${s.arg}` : ''}`)} | ${envs} | ${s.shown} | ${s.help!.replace(/\|/g, '\\|')} |`
  })
  return ['| flag | environment | default | meaning |', '| --- | --- | --- | --- |', ...rows].join('\n')
}

/** A library option's default as TypeScript would write it. */
function literal(value: unknown): string {
  if (value === undefined) return 'none'
  if (typeof value === 'string') return `'${value}'`
  if (typeof value === 'object' && value !== null) {
    if (Object.keys(value).length === 0) return '{}'
    return `{ ${Object.entries(value)
      .map(([k, v]) => `${k}: ${literal(v)}`)
      .join(', ')} }`
  }
  return String(value)
}

/** The library options of `group` as a README table (Markdown), generated like {@link settingsTable}. */
export function optionsTable(group: OptionGroup): string {
  const cell = (text: string) => text.replace(/\|/g, '\\|')
  const rows = optionSettings(group).map((s) => {
    const accepts = s.kind.option?.accepts ?? ''
    // An option without a default says what its absence means ("none: hours as written").
    const shown = s.default === undefined ? cell(s.shown) : `\`${literal(s.default)}\``
    return `| \`${s.key}\` | ${shown} | ${cell(accepts)} | ${cell(s.optionHelp ?? s.help ?? '')} |`
  })
  return ['| option | default | accepts | meaning |', '| --- | --- | --- | --- |', ...rows].join('\n')
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

/**
 * Resolves the settings `keys` by precedence: flags > environment > `.env` >
 * defaults. An environment name and its aliases must agree where both are set.
 * @throws {SettingError} for the first bad value
 */
export function resolveSettings<K extends FlagKey>(
  keys: readonly K[],
  flags: SettingFlags,
  env: NodeJS.ProcessEnv,
  dotenv: Record<string, string>,
): { settings: Pick<ServerSettings, K>; sources: Record<K, SettingSource> } {
  const settings = {} as Record<string, unknown>
  const sources = {} as Record<K, SettingSource>
  for (const key of keys) {
    const spec = SETTINGS[key] as FlagSetting
    // A secret that is not an address (a token) is not shown at all.
    const show = (raw: string) =>
      JSON.stringify(!spec.redact ? raw : /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? redactAddress(raw) : raw === '' ? '' : '***')
    const fromEnvironment = (vars: Record<string, string | undefined>, where: string): [string, string] | undefined => {
      const set = [spec.env, ...(spec.aliases ?? [])]
        .filter((name) => vars[name] !== undefined)
        .map((name) => [name, vars[name]!] as [string, string])
      const other = set.find(([, v]) => v !== set[0]![1])
      if (other) {
        throw new SettingError(`${set[0]![0]} ${show(set[0]![1])} and ${other[0]} ${show(other[1])} (${where}) disagree: set one of them`)
      }
      return set[0]
    }
    const candidates: [SettingSource, string, string | undefined][] = [
      ['flag', spec.flag, flags[key]],
      ['environment', ...(fromEnvironment(env, 'from the environment') ?? [spec.env, undefined])],
      ['.env', ...(fromEnvironment(dotenv, 'from .env') ?? [spec.env, undefined])],
    ]
    const found = candidates.find(([, , v]) => v !== undefined)
    if (found && found[2] === '' && spec.security) {
      const from = found[0] === 'flag' ? '' : ` (from ${found[0] === 'environment' ? 'the environment' : '.env'})`
      throw new SettingError(
        `${found[1]} is empty${from}: a security setting is never turned off by an empty value; unset it, or give a value`,
      )
    }
    // An empty REDIS_ADDRESS (or other optional setting) means "not set", as in the original.
    if (!found || (found[2] === '' && spec.default === undefined)) {
      settings[key] = spec.default
      sources[key] = 'default'
      continue
    }
    const [source, name, raw] = found as [SettingSource, string, string]
    const value = spec.kind.fromText(raw)
    if (value === undefined) {
      const from = source === 'flag' ? '' : ` (from ${source === 'environment' ? 'the environment' : '.env'})`
      const hint = spec.redact ? undefined : spec.kind.suggest?.(raw)
      throw new SettingError(`invalid ${name} ${show(raw)}${from}: expected ${spec.accepts}${hint ? ` (did you mean ${hint}?)` : ''}`)
    }
    settings[key] = value
    sources[key] = source
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
    FLAG_SETTINGS.map((s) => s.key as FlagKey),
    flags,
    env,
    dotenv,
  )
  if (settings.redis !== undefined && settings.redisCluster !== undefined) {
    throw new SettingError(
      `invalid combination: ${sources.redis === 'flag' ? '--redis' : 'REDIS_ADDRESS'} and ${sources.redisCluster === 'flag' ? '--redis-cluster' : 'REDIS_CLUSTER_NODES'} both name the store; give one`,
    )
  }
  if (settings.redisCluster !== undefined && settings.snapshot !== undefined) {
    throw new SettingError(
      `invalid combination: ${sources.snapshot === 'flag' ? '--snapshot' : 'LOGHOUR_SNAPSHOT'} applies to the in-memory store, but a Redis Cluster is set; drop one`,
    )
  }
  if (settings.redis !== undefined && settings.snapshot !== undefined) {
    throw new SettingError(
      `invalid combination: ${sources.snapshot === 'flag' ? '--snapshot' : 'LOGHOUR_SNAPSHOT'} applies to the in-memory store, but Redis is set (${sources.redis === 'flag' ? '--redis' : 'REDIS_ADDRESS'}); drop one`,
    )
  }
  const name = (key: keyof ServerSettings) => (sources[key] === 'flag' ? SETTINGS[key].flag : (SETTINGS[key] as FlagSetting).env)
  if (!settings.daily && sources.retainDays !== 'default') {
    throw new SettingError(
      `invalid combination: ${name('retainDays')} applies with --daily (LOGHOUR_DAILY), which keeps the per-day keys it expires`,
    )
  }
  if ((settings.kafka === undefined) !== (settings.kafkaTopic === undefined)) {
    const [given, needs] = settings.kafka === undefined ? (['kafkaTopic', 'kafka'] as const) : (['kafka', 'kafkaTopic'] as const)
    throw new SettingError(`invalid combination: ${name(given)} needs ${SETTINGS[needs].flag} (${(SETTINGS[needs] as FlagSetting).env})`)
  }
  for (const [key, needs] of [
    ['kafkaGroup', 'kafka'],
    ['kafkaFrom', 'kafka'],
    ['kafkaTls', 'kafka'],
    ['kafkaSasl', 'kafka'],
    ['kafkaCa', 'kafkaTls'],
    ['kafkaCert', 'kafkaTls'],
    ['kafkaKey', 'kafkaTls'],
    ['kafkaUsername', 'kafkaSasl'],
    ['usersKeyPrefix', 'allUsers'],
    ['minUsers', 'allUsers'],
    ['maxGroups', 'groupBy'],
    ['top', 'groupBy'],
  ] as const) {
    if (sources[key] !== 'default' && (settings[needs] === undefined || settings[needs] === false)) {
      throw new SettingError(
        `invalid combination: ${name(key)} applies with ${SETTINGS[needs].flag} (${(SETTINGS[needs] as FlagSetting).env})`,
      )
    }
  }
  kafkaAccessProblem(settings, name, env, dotenv)
  if (settings.allUsers && hourKeysClash(settings.keyPrefix, settings.usersKeyPrefix)) {
    throw new SettingError(
      `invalid combination: ${name('usersKeyPrefix')} ${JSON.stringify(settings.usersKeyPrefix)} would share hour keys with ${name('keyPrefix')} ${JSON.stringify(settings.keyPrefix)}; choose another`,
    )
  }
  if (settings.sourceTimezone !== undefined && settings.timezone === undefined) {
    throw new SettingError(
      `invalid combination: ${name('sourceTimezone')} needs --timezone (LOGHOUR_TIMEZONE), the zone times are converted to`,
    )
  }
  if (settings.framing === 'json-stream' && settings.format === 'clf' && settings.envelope === undefined) {
    throw new SettingError(
      `invalid combination: ${name('framing')} json-stream frames JSON values, but ${name('format')} is clf; add --envelope FIELD, or use lines`,
    )
  }
  redisTlsProblem(settings, name)
  inputTlsProblem(settings, name)
  if ((settings.httpTlsCert === undefined) !== (settings.httpTlsKey === undefined)) {
    throw new SettingError(
      `invalid combination: ${name(settings.httpTlsCert === undefined ? 'httpTlsKey' : 'httpTlsCert')} needs its pair (--http-tls-cert with --http-tls-key)`,
    )
  }
  if (
    settings.ingestAck === 'flushed' &&
    settings.redis === undefined &&
    settings.redisCluster === undefined &&
    settings.snapshot === undefined
  ) {
    throw new SettingError(
      `invalid combination: ${name('ingestAck')} flushed promises what outlives the process, but the memory store without --snapshot keeps nothing; add --redis, --redis-cluster or --snapshot FILE`,
    )
  }
  for (const key of ['httpTlsCert', 'ingestToken', 'ingestOrigins'] as const) {
    if (settings[key] !== undefined && settings.http === undefined) {
      throw new SettingError(`invalid combination: ${name(key)} applies to the HTTP endpoints; add --http HOST:PORT`)
    }
  }
  return { settings, sources }
}

/** A PEM file's text; a SettingError naming what it is (`TLS cert`, `HTTPS key`) when unreadable. */
function readPem(what: string, file: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch (error) {
    throw new SettingError(`cannot read the ${what} file ${file}: ${(error as Error).message}`)
  }
}

/** The HTTPS certificate and key of `--http`, read from their files, or undefined for plain HTTP. */
export function readHttpTls(settings: Pick<ServerSettings, 'httpTlsCert' | 'httpTlsKey'>): { cert: string; key: string } | undefined {
  if (settings.httpTlsCert === undefined || settings.httpTlsKey === undefined) return undefined
  return { cert: readPem('HTTPS cert', settings.httpTlsCert), key: readPem('HTTPS key', settings.httpTlsKey) }
}

type InputTlsSettings = Pick<ServerSettings, 'tlsCert' | 'tlsKey' | 'tlsCa' | 'tlsClientAuth'>

/** Refuses half a certificate, and a client CA without client authentication (or the reverse). */
function inputTlsProblem(settings: InputTlsSettings, name: (key: keyof InputTlsSettings) => string): void {
  if ((settings.tlsCert === undefined) !== (settings.tlsKey === undefined)) {
    throw new SettingError(
      `invalid combination: ${name(settings.tlsCert === undefined ? 'tlsKey' : 'tlsCert')} needs its pair (--tls-cert with --tls-key)`,
    )
  }
  const serving = settings.tlsCert !== undefined
  if (!serving && (settings.tlsCa !== undefined || settings.tlsClientAuth)) {
    throw new SettingError(
      `invalid combination: ${name(settings.tlsCa !== undefined ? 'tlsCa' : 'tlsClientAuth')} applies to a TLS input; add --tls-cert and --tls-key`,
    )
  }
  if (settings.tlsClientAuth && settings.tlsCa === undefined) {
    throw new SettingError(
      `invalid combination: ${name('tlsClientAuth')} needs --tls-ca (LOGHOUR_TLS_CA), the CA that signs the client certificates`,
    )
  }
  if (settings.tlsCa !== undefined && !settings.tlsClientAuth) {
    throw new SettingError(
      `invalid combination: ${name('tlsCa')} says which client certificates are accepted; add --tls-client-auth (LOGHOUR_TLS_CLIENT_AUTH) to require them`,
    )
  }
}

/**
 * The TLS material of the input settings, read from their files (PEM text), or undefined for
 * plain TCP. Called at start and again on SIGHUP.
 * @throws {SettingError} when a file cannot be read
 */
export function readInputTls(settings: InputTlsSettings): InputTls | undefined {
  if (settings.tlsCert === undefined || settings.tlsKey === undefined) return undefined
  const tls: InputTls = { cert: readPem('TLS cert', settings.tlsCert), key: readPem('TLS key', settings.tlsKey) }
  if (settings.tlsCa !== undefined) tls.ca = readPem('TLS ca', settings.tlsCa)
  if (settings.tlsClientAuth) tls.clientAuth = true
  return tls
}

type RedisTlsSettings = Pick<ServerSettings, 'redis' | 'redisCluster' | 'redisCa' | 'redisCert' | 'redisKey'>

/** Refuses TLS files without a rediss:// address, and a client certificate without its key. */
function redisTlsProblem(settings: RedisTlsSettings, name: (key: keyof RedisTlsSettings) => string): void {
  const given = (['redisCa', 'redisCert', 'redisKey'] as const).filter((k) => settings[k] !== undefined)
  if (given.length === 0) return
  const address = settings.redis ?? settings.redisCluster?.find((n) => /^rediss?:\/\//i.test(n))
  if (address === undefined || !/^rediss:\/\//i.test(address)) {
    const none = settings.redis === undefined && settings.redisCluster === undefined
    throw new SettingError(
      `invalid combination: ${name(given[0]!)} applies to a rediss:// Redis address (TLS), but ${none ? 'no Redis is set' : 'the address is not rediss://'}`,
    )
  }
  if ((settings.redisCert === undefined) !== (settings.redisKey === undefined)) {
    throw new SettingError(
      `invalid combination: ${name(settings.redisCert === undefined ? 'redisKey' : 'redisCert')} needs its pair (--redis-cert with --redis-key)`,
    )
  }
}

/** Where the SASL password is read from: only the environment (or .env), never a flag. */
export const KAFKA_PASSWORD_ENV = 'LOGHOUR_KAFKA_PASSWORD'

/** The SASL password as set, the environment first, or undefined. */
const kafkaPassword = (env: NodeJS.ProcessEnv, dotenv: Record<string, string>) => env[KAFKA_PASSWORD_ENV] ?? dotenv[KAFKA_PASSWORD_ENV]

type KafkaAccessSettings = Pick<ServerSettings, 'kafkaCert' | 'kafkaKey' | 'kafkaSasl' | 'kafkaUsername'>

/** Refuses a client certificate without its key, and SASL without a user name or a password (or a password without SASL). */
function kafkaAccessProblem(
  settings: KafkaAccessSettings,
  name: (key: keyof KafkaAccessSettings) => string,
  env: NodeJS.ProcessEnv,
  dotenv: Record<string, string>,
): void {
  if ((settings.kafkaCert === undefined) !== (settings.kafkaKey === undefined)) {
    throw new SettingError(
      `invalid combination: ${name(settings.kafkaCert === undefined ? 'kafkaKey' : 'kafkaCert')} needs its pair (--kafka-cert with --kafka-key)`,
    )
  }
  const password = kafkaPassword(env, dotenv)
  if (settings.kafkaSasl === undefined) {
    if (password !== undefined) {
      throw new SettingError(`invalid combination: ${KAFKA_PASSWORD_ENV} is set, but no --kafka-sasl (LOGHOUR_KAFKA_SASL) uses it`)
    }
    return
  }
  if (settings.kafkaUsername === undefined) {
    throw new SettingError(`invalid combination: ${name('kafkaSasl')} needs --kafka-username (LOGHOUR_KAFKA_USERNAME)`)
  }
  if (password === undefined) {
    throw new SettingError(`invalid combination: ${name('kafkaSasl')} needs the password in ${KAFKA_PASSWORD_ENV} (never a flag)`)
  }
  if (password === '') {
    throw new SettingError(
      `${KAFKA_PASSWORD_ENV} is empty: a security setting is never turned off by an empty value; unset it, or give a value`,
    )
  }
}

/** How the Kafka input reaches the brokers: TLS (certificate files read now) and SASL. */
export interface KafkaAccess {
  tls?: { ca?: string[]; cert?: string; key?: string } | true
  sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string }
}

/**
 * The TLS material and SASL credentials of the Kafka settings (the password from
 * `LOGHOUR_KAFKA_PASSWORD`, checked with the settings).
 * @throws {SettingError} when a file cannot be read
 */
export function readKafkaAccess(
  settings: Pick<ServerSettings, 'kafkaTls' | 'kafkaCa' | 'kafkaCert' | 'kafkaKey' | 'kafkaSasl' | 'kafkaUsername'>,
  env: NodeJS.ProcessEnv,
  dotenv: Record<string, string>,
): KafkaAccess {
  const access: KafkaAccess = {}
  if (settings.kafkaTls) {
    const { kafkaCa: ca, kafkaCert: cert, kafkaKey: key } = settings
    access.tls =
      ca === undefined && cert === undefined
        ? true
        : {
            ...(ca === undefined ? {} : { ca: [readPem('Kafka TLS ca', ca)] }),
            ...(cert === undefined || key === undefined
              ? {}
              : { cert: readPem('Kafka TLS cert', cert), key: readPem('Kafka TLS key', key) }),
          }
  }
  if (settings.kafkaSasl !== undefined && settings.kafkaUsername !== undefined) {
    access.sasl = { mechanism: settings.kafkaSasl, username: settings.kafkaUsername, password: kafkaPassword(env, dotenv) ?? '' }
  }
  return access
}

/**
 * The TLS material of the Redis settings, read from their files (PEM text), or undefined.
 * @throws {SettingError} when a file cannot be read
 */
export function readRedisTls(settings: Pick<ServerSettings, 'redisCa' | 'redisCert' | 'redisKey'>): RedisTls | undefined {
  const files = { ca: settings.redisCa, cert: settings.redisCert, key: settings.redisKey }
  if (Object.values(files).every((f) => f === undefined)) return undefined
  const tls: RedisTls = {}
  for (const [member, file] of Object.entries(files) as [keyof RedisTls, string | undefined][]) {
    if (file === undefined) continue
    try {
      tls[member] = readFileSync(file, 'utf8')
    } catch (error) {
      throw new SettingError(`cannot read the Redis TLS ${member} file ${file}: ${(error as Error).message}`)
    }
  }
  return tls
}
