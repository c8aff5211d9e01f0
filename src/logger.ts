import { pino, type Logger } from 'pino'
import type { LogLevel } from './config.js'

/**
 * The server's logger: JSON lines on stdout, or into a file rotated daily and at 100 MB by a
 * pino-roll transport (a worker thread, off the ingest path). `file` `logs/server.log` gives
 * `logs/server.2026-11-28.1.log`, …; the 14 newest rotated files are kept.
 */
export function createLogger(level: LogLevel, file?: string): Logger {
  const options = { level, base: { name: 'loghour-server' }, timestamp: pino.stdTimeFunctions.isoTime }
  if (file === undefined) return pino(options, pino.destination({ dest: 1, sync: false }))
  const transport = pino.transport({
    target: 'pino-roll',
    options: { file, frequency: 'daily', size: '100m', dateFormat: 'yyyy-MM-dd', mkdir: true, limit: { count: 14 } },
  })
  return pino(options, transport)
}
