#!/usr/bin/env node
import { readFileSync } from 'node:fs'
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander'
import { version } from '../../package.json'
import { readDotenv, readRedisTls, resolveSettings, type ServerSettings, SettingError, settingFlags, settingOption } from '../config.js'
import { MAX_LINE_NUMBER } from '../demo.js'
import { OptionError } from '../options.js'
import type { READING_OPTIONS } from '../schemas.js'
import { type Kind, SETTINGS, type Setting } from '../settings.js'
import { type ANSWER_OPTIONS, type AnalyzeOptions, analyze } from './analyze.js'
import { exitOnBrokenPipe, integer, oneOf, queryOf, windowOptions } from './args.js'
import { gen } from './gen.js'
import { send } from './send.js'
import { stats } from './stats.js'

exitOnBrokenPipe() // `loghour … | head`: the reader may go away at any time

const program = new Command()
  .name('loghour')
  .description('At which hour of the working day did the most distinct users hit server errors (5xx)?')
  .version(version, '-V, --version')
  .exitOverride()
  // One line, like every other error: "loghour: unknown option '--x'".
  .configureOutput({
    outputError: (text, write) => write(`loghour: ${text.replace(/^error: /, '').replace(/\n\(Did you mean/, ' (did you mean')}`),
  })

windowOptions(program.command('analyze'))
  .description('read access logs from files (or stdin when none, or "-") and print the answer')
  .argument('[files...]', 'log files; stdin when none or "-"')
  .option('--json', 'print the stats object as JSON')
  .addOption(
    new Option('--html <file>', 'also write the answer as a self-contained HTML report (the stats JSON embedded)').argParser(reportFile),
  )
  .addOption(flagOnly('format'))
  .addOption(flagOnly('schema'))
  .addOption(flagOnly('fields'))
  .addOption(flagOnly('timeUnit'))
  .addOption(flagOnly('timezone'))
  .addOption(flagOnly('sourceTimezone'))
  .addOption(flagOnly('envelope'))
  .addOption(flagOnly('framing'))
  .addOption(flagOnly('maxLineBytes'))
  .addOption(flagOnly('allUsers'))
  .addOption(flagOnly('minUsers'))
  .addOption(flagOnly('groupBy'))
  .addOption(flagOnly('maxGroups'))
  .addOption(flagOnly('top'))
  .action((files: string[], { field, days, from, to, by, ...flags }: Record<string, unknown>) =>
    analyze(files, {
      ...(flags as AnalyzeOptions),
      fields: field as AnalyzeOptions['fields'],
      query: queryOf({ days, from, to, by } as Parameters<typeof queryOf>[0]),
    }),
  )

program
  .command('gen')
  .description("write the original service's demo stream (script_no_1.sh / script_no_2.sh), or a web shop's (3), to stdout")
  .addOption(
    new Option('-p, --pattern <1|2|3>', 'which demo stream (3: a shop with routes, for --all-users and --group-by path)')
      .argParser(oneOf('1', '2', '3'))
      .makeOptionMandatory(),
  )
  .addOption(new Option('-n, --count <N>', 'number of lines').argParser(integer(0, MAX_LINE_NUMBER)).makeOptionMandatory())
  .addOption(new Option('--start <I>', 'number of the first line').argParser(integer(1, MAX_LINE_NUMBER)).default(1))
  .action((options: { pattern: '1' | '2' | '3'; count: number; start: number }) =>
    gen({ pattern: Number(options.pattern) as 1 | 2 | 3, count: options.count, start: options.start }),
  )

program
  .command('send')
  .description('send files (or stdin when none, or "-") to a loghour server, with backpressure')
  .argument('[files...]', 'log files; stdin when none or "-"')
  .addOption(settingOption('host', { help: 'server address (also from .env)' }))
  .addOption(settingOption('port', { help: 'server port (also from .env)' }))
  .option('--tls', 'connect over TLS, verifying the server certificate (against --ca, else the system CAs)')
  .option('--ca <file>', 'with --tls: trust server certificates this CA signed (PEM)')
  .option('--cert <file>', 'with --tls: present this client certificate (PEM; with --key), for a server with --tls-client-auth')
  .option('--key <file>', "with --tls: the client certificate's private key (PEM)")
  .action((files: string[], { tls, ca, cert, key, ...flags }: Record<string, unknown>) => {
    const { host, port } = settings(['host', 'port'], flags)
    return send(files, { host, port, ...(tls ? { tls: sendTls({ ca, cert, key } as Record<string, string | undefined>) } : {}) })
  })
  .hook('preAction', (command) => {
    const { tls, ca, cert, key } = command.opts()
    const given = Object.entries({ '--ca': ca, '--cert': cert, '--key': key }).filter(([, v]) => v !== undefined)
    if (!tls && given.length > 0) throw new UsageError(`${given[0]![0]} applies with --tls`)
    if ((cert === undefined) !== (key === undefined))
      throw new UsageError(`${cert === undefined ? '--key' : '--cert'} needs its pair (--cert with --key)`)
  })

windowOptions(program.command('stats'))
  .description('print the current answer from Redis (any number of servers may feed the same keys)')
  .addOption(settingOption('redis', { help: 'Redis holding the hour keys (also from .env)' }))
  .addOption(settingOption('redisCluster', { help: 'or a Redis Cluster, by some of its nodes (also from .env)' }))
  .addOption(settingOption('keyPrefix', { help: 'hour H is the key <prefix>H (also from .env)' }))
  .addOption(settingOption('redisCa'))
  .addOption(settingOption('redisCert'))
  .addOption(settingOption('redisKey'))
  .addOption(settingOption('timezone', { help: 'the calendar of the per-day keys and of "today" (also from .env)' }))
  .addOption(settingOption('retainDays', { help: 'days kept by the servers: the window of --by weekday alone (also from .env)' }))
  .addOption(settingOption('allUsers', { help: 'also read every user of each hour (the servers run with --all-users): the share hurt' }))
  .addOption(settingOption('usersKeyPrefix'))
  .addOption(settingOption('minUsers'))
  .addOption(settingOption('groupBy', { help: 'also read the groups the servers count with --group-by (the same field)' }))
  .addOption(settingOption('top'))
  .option(
    '--json',
    'print { hours, peakHour, peakUsers } as JSON (with "window" and "weekdays" when asked, "users" and "share" with --all-users, "groups" with --group-by)',
  )
  .action(({ days, from, to, by, ...flags }: { json?: boolean } & Record<string, unknown>) => {
    const keys = [
      'redis',
      'redisCluster',
      'keyPrefix',
      'redisCa',
      'redisCert',
      'redisKey',
      'timezone',
      'retainDays',
      'allUsers',
      'usersKeyPrefix',
      'minUsers',
      'groupBy',
      'top',
    ] as const
    const resolved = settings([...keys], flags)
    const { redis, redisCluster, keyPrefix, timezone, retainDays, allUsers, usersKeyPrefix, minUsers, groupBy, top } = resolved
    if (redis !== undefined && redisCluster !== undefined) throw new UsageError('--redis and --redis-cluster both name the store; give one')
    const store = redis ?? redisCluster
    if (store === undefined) {
      throw new UsageError(
        'stats needs Redis: --redis <url> or --redis-cluster <nodes>, or REDIS_ADDRESS or REDIS_CLUSTER_NODES in the environment or .env',
      )
    }
    const query = queryOf({ days, from, to, by } as Parameters<typeof queryOf>[0])
    const answer = { allUsers, usersKeyPrefix, minUsers, top, ...(groupBy === undefined ? {} : { groupBy }) }
    return stats({
      store,
      keyPrefix,
      timezone,
      retainDays,
      query,
      answer,
      tls: usage(() => readRedisTls(resolved)),
      json: flags.json as boolean,
    })
  })

/** `--html FILE`: a file name; stdout keeps the usual answer, so `-` would be ambiguous. */
function reportFile(raw: string): string {
  if (raw === '' || raw === '-') throw new InvalidArgumentError('expected a file name (the answer itself still goes to stdout)')
  return raw
}

/** A usage error found after parsing (a setting's value): exit code 2, like commander's. */
class UsageError extends Error {}

/** The PEM text of `send --tls`'s files. */
function sendTls(files: Record<'ca' | 'cert' | 'key', string | undefined>): { ca?: string; cert?: string; key?: string } {
  const tls: { ca?: string; cert?: string; key?: string } = {}
  for (const [member, file] of Object.entries(files) as ['ca' | 'cert' | 'key', string | undefined][]) {
    if (file === undefined) continue
    try {
      tls[member] = readFileSync(file, 'utf8')
    } catch (error) {
      throw new UsageError(`cannot read the --${member} file ${file}: ${(error as Error).message}`)
    }
  }
  return tls
}

/** A setting's flag, parsed by its declaration, without its environment variable. */
function flagOnly(key: (typeof READING_OPTIONS)[number] | 'maxLineBytes' | (typeof ANSWER_OPTIONS)[number]): Option {
  const setting = SETTINGS[key] as Setting & { kind: Kind<unknown> }
  const parse = (raw: string) => setting.kind.fromText(raw) ?? fail(setting.accepts, setting.kind.suggest?.(raw))
  if (setting.repeatable) {
    // Each --field adds to the overrides of the ones before it.
    return settingOption(key, { env: false }).argParser((raw: string, previous?: object) => ({ ...previous, ...(parse(raw) as object) }))
  }
  // An on/off flag has no argument to parse: given is on.
  return setting.arg === undefined ? settingOption(key, { env: false }) : settingOption(key, { env: false }).argParser(parse)
}

/** A commander argument error: "argument 'x' is invalid. expected … (did you mean …?)". */
function fail(accepts: string, hint: string | undefined): never {
  throw new InvalidArgumentError(`expected ${accepts}${hint ? ` (did you mean ${hint}?)` : ''}`)
}

/** The server's settings `keys`, as the server resolves them: flag, environment, `.env`, default. */
function settings<K extends keyof ServerSettings>(keys: K[], parsed: Record<string, unknown>): Pick<ServerSettings, K> {
  return usage(() => resolveSettings(keys, settingFlags(keys, parsed), process.env, readDotenv(process.cwd())).settings)
}

/** Runs `read`, turning a bad setting into a usage error (exit 2). */
function usage<T>(read: () => T): T {
  try {
    return read()
  } catch (error) {
    if (error instanceof SettingError) throw new UsageError(error.message)
    throw error
  }
}

/**
 * An option error of the library in the command line's words: `option "sourceTimezone" needs
 * "timezone"` becomes `--source-timezone needs --timezone`.
 */
function inFlagTerms(message: string): string {
  const flagOf = (key: string) => (SETTINGS as Record<string, Setting>)[key.split('.')[0]!]?.flag
  return message
    .replace(/(?:invalid )?option "([\w.]+)"/g, (whole, key: string) => {
      const flag = flagOf(key)
      return flag === undefined ? whole : whole.startsWith('invalid') ? `invalid ${flag}` : flag
    })
    .replace(/"(\w+)"/g, (whole, key: string) => flagOf(key) ?? whole)
}

program.parseAsync(process.argv).catch((error: unknown) => {
  if (error instanceof CommanderError) {
    // --help and --version end here with code 0; usage errors were already printed.
    process.exitCode = error.exitCode === 0 ? 0 : 2
    return
  }
  const message = (error as Error).message.replace(/^loghour: /, '')
  process.stderr.write(`loghour: ${error instanceof OptionError ? inFlagTerms(message) : message}\n`)
  process.exitCode = error instanceof UsageError || error instanceof OptionError ? 2 : 1
})
