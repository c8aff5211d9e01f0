// What to tell a user whose input loghour could not read: what its lines look like and the flags
// that would read them. Runs once per input on one sample line, never per line.
import { describeReading, type Reading, SCHEMAS } from './schemas.js'
import type { LineCounts } from './stats.js'

/** Characters of a sample line shown. */
const SHOWN = 120

/** A line shortened and with control characters escaped, quoted. */
export function shortened(line: string): string {
  const chars = [...line]
  const cut = chars.length > SHOWN ? `${chars.slice(0, SHOWN).join('')}…` : line
  return JSON.stringify(cut)
}

/** The keys of a JSON object line, as far as the (shortened) sample shows them. */
function keysOf(line: string): string[] {
  return [...line.matchAll(/"((?:[^"\\]|\\.)*)"\s*:/g)].map((m) => m[1]!).slice(0, 8)
}

/** What the sample line looks like, and what would read it. */
function diagnose(line: string, reason: string): { looks: string; advice: string } {
  const schemas = Object.keys(SCHEMAS).join(', ')
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is looked for
  if (reason === 'utf8' || /[\u0000-\u0008\u000e-\u001f\ufffd]/.test(line)) {
    return {
      looks: 'binary data (or text that is not UTF-8), not an access log',
      advice: 'Point loghour at the access log itself (decompress it first: zcat access.log.gz | loghour analyze).',
    }
  }
  if (/^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d \[(emerg|alert|crit|error|warn|notice|info|debug)\]/.test(line)) {
    return {
      looks: 'an nginx error log, not an access log',
      advice: "Point loghour at nginx's access log (access.log): its default Combined format is read without flags.",
    }
  }
  if (/^\[\w{3} \w{3} +\d+ [\d:.]+ \d{4}\] \[/.test(line)) {
    return {
      looks: 'an Apache error log, not an access log',
      advice: "Point loghour at Apache's access log: its Combined format is read without flags.",
    }
  }
  if (line.trimStart().startsWith('{')) {
    const keys = keysOf(line)
    return {
      looks: `JSON records${keys.length > 0 ? ` with the keys ${keys.join(', ')}` : ''}, without a time, client and status loghour recognises (${reason})`,
      advice: `Say where they are: --field time=PATH --field ip=PATH --field status=PATH (dotted paths, e.g. --field status=http.status), or a schema: --schema ${schemas}.`,
    }
  }
  if (reason === 'badTime') {
    return {
      looks: 'Combined log lines whose time loghour cannot read',
      advice: 'The time must be bracketed as nginx and Apache write it: [23/Nov/2026:09:15:00 -0500] (--format clf).',
    }
  }
  if ((line.match(/,/g)?.length ?? 0) >= 2 && !line.includes('[')) {
    return {
      looks: 'comma-separated values (a CSV export?), not an access log',
      advice:
        'loghour reads access logs as servers write them; export JSON lines instead, e.g. {"time":"2026-11-23T09:15:00Z","ip":"10.0.0.1","status_code":502}, or give it the server\'s own log.',
    }
  }
  return { looks: 'lines that are neither Combined/Common log lines nor JSON records', advice: '' }
}

/** What loghour reads, naming the flags. */
const READS = `loghour reads nginx/Apache Combined or Common lines (--format clf) and JSON records (--schema ${Object.keys(SCHEMAS).join(', ')}, or --field time=PATH --field ip=PATH --field status=PATH).`

/**
 * The paragraph for an input none of whose lines could be read, naming what they look like, the
 * flags that would read them, and the first line not read.
 * @example
 * unreadableHint('app.csv', reading, counts) // "loghour: no line of app.csv could be read: it looks like comma-separated values …"
 */
export function unreadableHint(source: string, reading: Reading | undefined, counts: Pick<LineCounts, 'invalid'>): string {
  const sample = reading?.unreadable
  const { looks, advice } = diagnose(sample?.line ?? '', sample?.reason ?? 'json')

  const read = reading === undefined || reading.detected ? '' : ` as ${describeReading(reading)}`
  const first = sample === undefined || sample.line === '' ? '' : ` First line not read (${sample.reason}): ${shortened(sample.line)}.`
  const said = [
    `loghour: no line of ${source} could be read${read}: ${counts.invalid} lines, all invalid.`,
    `It looks like ${looks}.`,
    advice,
    READS,
  ]
  return `${said.filter((s) => s !== '').join(' ')}${first} See docs/your-logs.md.\n`
}

/** The warning for an input most of whose lines could not be read. */
export function mostlyUnreadableWarning(
  source: string,
  reading: Reading | undefined,
  counts: Pick<LineCounts, 'invalid' | 'counted' | 'skipped'>,
): string {
  const lines = counts.invalid + counts.counted + counts.skipped
  const sample = reading?.unreadable
  const first = sample === undefined || sample.line === '' ? '' : ` First line not read (${sample.reason}): ${shortened(sample.line)}.`
  const read = reading === undefined ? '' : ` read as ${describeReading(reading)}`
  return `loghour: warning: ${counts.invalid} of ${lines} lines of ${source}${read} are invalid.${first}\n`
}
