import { type Command, InvalidArgumentError, Option } from 'commander'
import { dayOf, MAX_WINDOW_DAYS, type StatsQuery } from '../days.js'

/** A commander argument parser for an integer within limits. */
export function integer(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = /^[+-]?\d+$/.test(value.trim()) ? Number(value) : Number.NaN
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`expected an integer from ${min} to ${max}`)
    }
    return n
  }
}

/** A commander argument parser for one of a few literal values. */
export function oneOf<T extends string>(...values: T[]): (value: string) => T {
  return (value) => {
    if (!(values as string[]).includes(value)) throw new InvalidArgumentError(`expected one of ${values.join(', ')}`)
    return value as T
  }
}

/** Exits quietly when the reader of stdout goes away (`loghour gen | head`). */
export function exitOnBrokenPipe(): void {
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0)
    throw error
  })
}

/** A commander argument parser for a date `YYYY-MM-DD`. */
export function date(value: string): string {
  if (dayOf(value) === undefined) throw new InvalidArgumentError('expected a date YYYY-MM-DD')
  return value
}

/** Adds the window flags of `stats` and `analyze`: --days, --from, --to, --by. */
export function windowOptions(command: Command): Command {
  return command
    .addOption(
      new Option('--days <n>', 'only the last N days, today included (today in --timezone)')
        .argParser(integer(1, MAX_WINDOW_DAYS))
        .conflicts(['from', 'to']),
    )
    .addOption(new Option('--from <date>', 'only from this day on, YYYY-MM-DD (inclusive; to today unless --to)').argParser(date))
    .addOption(new Option('--to <date>', 'only up to this day, YYYY-MM-DD (inclusive)').argParser(date))
    .addOption(
      new Option('--by <weekday>', 'also the Monday–Friday × 24-hour table, as a heatmap (JSON: "weekdays")').argParser(oneOf('weekday')),
    )
}

/** The query of the window flags, or undefined when none is given. */
export function queryOf(flags: { days?: number; from?: string; to?: string; by?: 'weekday' }): StatsQuery | undefined {
  const query: StatsQuery = {}
  if (flags.days !== undefined) query.days = flags.days
  if (flags.from !== undefined) query.from = flags.from
  if (flags.to !== undefined) query.to = flags.to
  if (flags.by !== undefined) query.by = flags.by
  return Object.keys(query).length > 0 ? query : undefined
}
