#!/usr/bin/env node
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander'
import { MAX_LINE_NUMBER } from '../demo.js'
import { DEFAULT_CONSUMER_OPTIONS, LIMITS } from '../options.js'
import { version } from '../../package.json'
import { analyze } from './analyze.js'
import { integer, oneOf } from './args.js'
import { gen } from './gen.js'
import { send } from './send.js'
import { stats } from './stats.js'
import { redisAddress } from '../config.js'
import { keyPrefixProblem } from '../stores/keys.js'

const program = new Command()
  .name('loghour')
  .description('At which hour of the working day did the most distinct users hit server errors (5xx)?')
  .version(version, '-V, --version')
  .showHelpAfterError()
  .exitOverride()

program
  .command('analyze')
  .description('read JSON access logs from files (or stdin when none, or "-") and print the answer')
  .argument('[files...]', 'log files; stdin when none or "-"')
  .option('--json', 'print the stats object as JSON')
  .addOption(
    new Option('--max-line-bytes <n>', 'longer lines are skipped and counted as invalid (tooLong)')
      .argParser(integer(LIMITS.maxLineBytes.min, LIMITS.maxLineBytes.max))
      .default(DEFAULT_CONSUMER_OPTIONS.maxLineBytes),
  )
  .action(analyze)

program
  .command('gen')
  .description("write the original service's demo stream (script_no_1.sh / script_no_2.sh) to stdout")
  .addOption(new Option('-p, --pattern <1|2>', 'which demo stream').argParser(oneOf('1', '2')).makeOptionMandatory())
  .addOption(new Option('-n, --count <N>', 'number of lines').argParser(integer(0, MAX_LINE_NUMBER)).makeOptionMandatory())
  .addOption(new Option('--start <I>', 'number of the first line').argParser(integer(1, MAX_LINE_NUMBER)).default(1))
  .action((options: { pattern: '1' | '2'; count: number; start: number }) =>
    gen({ pattern: Number(options.pattern) as 1 | 2, count: options.count, start: options.start }),
  )

program
  .command('send')
  .description('send files (or stdin when none, or "-") to a loghour server, with backpressure')
  .argument('[files...]', 'log files; stdin when none or "-"')
  .addOption(new Option('--host <address>', 'server address').env('SERVER_HOST').default('127.0.0.1'))
  .addOption(new Option('--port <port>', 'server port').env('SERVER_PORT').argParser(integer(1, 65535)).default(2525))
  .action((files: string[], options: { host: string; port: number }) => send(files, options))

program
  .command('stats')
  .description('print the current answer from Redis (any number of servers may feed the same keys)')
  .addOption(
    new Option('--redis <url>', 'Redis holding the hour keys')
      .env('REDIS_ADDRESS')
      .argParser((v) => redisAddress(v) ?? fail('expected redis://host:port[/db], rediss://…, or host[:port]'))
      .makeOptionMandatory(),
  )
  .addOption(
    new Option('--key-prefix <prefix>', 'hour H is the key <prefix>H')
      .env('REDIS_HOUR_KEY_PREFIX')
      .argParser((v) => (v && !keyPrefixProblem(v) ? v : fail('expected a non-empty key prefix')))
      .default('error_hour_'),
  )
  .option('--json', 'print { hours, peakHour, peakUsers } as JSON')
  .action((options: { redis: string; keyPrefix: string; json?: boolean }) => stats(options))

function fail(message: string): never {
  throw new InvalidArgumentError(message)
}

program.parseAsync(process.argv).catch((error: unknown) => {
  if (error instanceof CommanderError) {
    // --help and --version end here with code 0; usage errors were already printed.
    process.exitCode = error.exitCode === 0 ? 0 : 2
    return
  }
  process.stderr.write(`loghour: ${(error as Error).message}\n`)
  process.exitCode = 1
})
