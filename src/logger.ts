import { type DestinationStream, type Logger, pino } from 'pino'
import type { LogFormat, LogLevel } from './config.js'
import { LogFile, type Rotation } from './log-file.js'

export interface LoggerOptions {
  level: LogLevel
  /** JSON lines, human lines, or `auto`: human on a terminal, JSON otherwise. */
  format: LogFormat
  /** Log file name template; stdout when undefined. */
  file?: string
  rotation?: Rotation
  retention?: number
}

/** A destination pino can flush before the process exits. */
type Flushable = DestinationStream & { flush(callback: (error?: Error) => void): void }

/** Human lines (time, level, message) for a terminal or a file, through pino-pretty, loaded only then. */
function pretty(target: Flushable, colorize: boolean): Flushable {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { prettyFactory } = require('pino-pretty') as typeof import('pino-pretty')
  // Every message says it all in words; the structured fields are for the JSON format.
  const format = prettyFactory({ colorize, translateTime: 'SYS:yyyy-mm-dd HH:MM:ss.l', hideObject: true })
  return { write: (line: string) => target.write(format(line)), flush: (callback) => target.flush(callback) }
}

/** stdout; if its reader goes away (a closed pipe), serving goes on and this is said once on stderr. */
function stdout(): Flushable {
  const destination = pino.destination({ dest: 1, sync: false })
  destination.once('error', (error: Error) => process.stderr.write(`loghour-server: cannot write the log to stdout: ${error.message}\n`))
  destination.on('error', () => {})
  return destination
}

/**
 * The server's logger: JSON lines or human lines, on stdout or into a file kept as the original
 * service's loguru sink kept it (see {@link LogFile}). Writes are asynchronous, off the ingest
 * path. An unusable log file throws here, at start; a later write failure (disk full) is
 * reported once on stderr and logging goes on where it can.
 */
export function createLogger(options: LoggerOptions): Logger {
  const config = { level: options.level, base: { name: 'loghour-server' }, timestamp: pino.stdTimeFunctions.isoTime }
  const target: Flushable =
    options.file === undefined
      ? stdout()
      : new LogFile({
          template: options.file,
          rotation: options.rotation ?? {},
          retention: options.retention ?? 0,
          onError: (error) => process.stderr.write(`loghour-server: cannot write the log file ${options.file}: ${error.message}\n`),
        })
  const human = options.format === 'pretty' || (options.format === 'auto' && options.file === undefined && process.stdout.isTTY === true)
  return pino(config, human ? pretty(target, options.file === undefined && process.stdout.isTTY === true) : target)
}
