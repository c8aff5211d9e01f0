// Every recipe of docs/your-logs.md ("Recipes by producer"), run as written on the bytes its producer
// writes (shapes from the producers' own sources and documentation). The server recipes run
// through loghour-server over TCP; the others through `loghour analyze`.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { ROOT, run } from './helpers/cli.js'
import { haproxyRecipe } from './helpers/haproxy.js'
import { NGINX_JSON_FORMAT } from './helpers/nginx.js'
import { rsyslogRecipe, rsyslogTlsRecipe } from './helpers/rsyslog.js'
import { sendTcp, startServer } from './helpers/server.js'

/** The guides that hold the recipes and the configurations the real-program tests use. */
const YOUR_LOGS = readFileSync(join(ROOT, 'docs/your-logs.md'), 'utf8')
const SERVER = readFileSync(join(ROOT, 'docs/server.md'), 'utf8')
const REDIS = readFileSync(join(ROOT, 'docs/redis.md'), 'utf8')

/** The command of a recipe row: the first code span after `<!-- recipe: NAME -->`. */
function recipe(name: string): { program: 'analyze' | 'server'; flags: string[] } {
  const m = new RegExp(`<!-- recipe: ${name} --> \`([^\`]+)\``).exec(YOUR_LOGS)
  if (!m) throw new Error(`docs/your-logs.md has no recipe ${name}`)
  const words = m[1]!.split(/\s+/)
  if (words[0] === 'loghour-server') return { program: 'server', flags: words.slice(1) }
  expect(words.slice(0, 2)).toEqual(['loghour', 'analyze'])
  return { program: 'analyze', flags: words.slice(2, -1) } // the last word is the file
}

const combined = [
  '127.0.0.4 - - [23/Nov/2026:09:15:00 -0500] "GET /e500 HTTP/1.1" 500 177 "-" "Mozilla/5.0 (X11; \\x22quoted\\x22 agent 1)"',
  '::1 - frank [23/Nov/2026:09:20:00 -0500] "GET /a\\"b HTTP/1.0" 503 2326 "-" "curl/8.5"',
  '127.0.0.4 - - [23/Nov/2026:09:21:00 -0500] "GET / HTTP/1.1" 200 612 "-" "curl/8.5"',
].join('\n')

/** What each producer writes (a Monday, 2026-11-23 14:15 UTC = 09:15 in New York), and the answer. */
const CASES: Record<string, { data: string; hour: number; users: number; lines: number }> = {
  combined: { data: combined, hour: 15, users: 2, lines: 3 },
  'nginx-json': { data: '{"time":"2026-11-23T09:15:00-05:00","ip":"127.0.0.4","status_code":502}\n', hour: 9, users: 1, lines: 1 },
  'apache-json': { data: '{"time":"2026-11-23 09:15:00","ip":"::1","status_code":503}\n', hour: 9, users: 1, lines: 1 },
  caddy: {
    data: '{"level":"error","ts":1795443300.5241024,"logger":"http.log.access.log0","msg":"handled request","request":{"remote_ip":"127.0.0.1","remote_port":"41342","client_ip":"127.0.0.1","proto":"HTTP/1.1","method":"GET","host":"localhost","uri":"/","headers":{"User-Agent":["curl/8.5"]}},"bytes_read":0,"user_id":"","duration":0.000125,"size":0,"status":502,"resp_headers":{}}\n',
    hour: 14,
    users: 1,
    lines: 1,
  },
  traefik: {
    data: '{"ClientAddr":"10.0.0.5:51000","ClientHost":"10.0.0.5","ClientPort":"51000","DownstreamContentSize":21,"DownstreamStatus":503,"Duration":1200000,"RequestMethod":"GET","RequestPath":"/","RouterName":"web@docker","level":"info","msg":"","time":"2026-11-23T09:15:00-05:00"}\n',
    hour: 9,
    users: 1,
    lines: 1,
  },
  ecs: {
    data: [
      '{"@timestamp":"2026-11-23T14:15:00.123Z","event":{"dataset":"nginx.access"},"source":{"ip":"10.0.0.1"},"http":{"response":{"status_code":503}}}',
      '{"@timestamp":"2026-11-23T14:16:00.000Z","source.ip":"10.0.0.2","http.response.status_code":500,"ecs.version":"8.11.0"}',
    ].join('\n'),
    hour: 15,
    users: 2,
    lines: 2,
  },
  logstash: {
    data:
      '{"@timestamp":"2026-11-23T14:15:01.000Z","@version":"1","timestamp":"23/Nov/2026:09:15:00 -0500","source":{"address":"10.0.0.1"},"http":{"response":{"status_code":503},"request":{"method":"GET"}}}' +
      '{"@timestamp":"2026-11-23T14:15:02.000Z","@version":"1","timestamp":"23/Nov/2026:09:15:01 -0500","source":{"address":"10.0.0.2"},"http":{"response":{"status_code":200}}}',
    hour: 9,
    users: 1,
    lines: 2,
  },
  vector: {
    data: `${JSON.stringify({ file: '/var/log/nginx/access.log', host: 'web1', message: combined.split('\n')[0], source_type: 'file', timestamp: '2026-11-23T14:15:00.123456789Z' })}\n`,
    hour: 9,
    users: 1,
    lines: 1,
  },
  docker: {
    data: `${JSON.stringify({ log: '{"time":"2026-11-23 09:15:00","ip":"10.0.0.7","status_code":500}\n', stream: 'stdout', time: '2026-11-23T14:15:00.000000001Z' })}\n`,
    hour: 9,
    users: 1,
    lines: 1,
  },
  'fluent-bit': {
    data: '{"date":1795443300.123456,"remote":"10.0.0.1","host":"-","user":"-","method":"GET","path":"/","code":"502","size":"0","referer":"-","agent":"curl/8.5"}\n',
    hour: 14,
    users: 1,
    lines: 1,
  },
  rsyslog: { data: `${combined}\n`, hour: 9, users: 2, lines: 3 },
  'pino-http': {
    data: '{"level":50,"time":1795443300068,"pid":7,"hostname":"web","req":{"id":1,"method":"GET","url":"/","query":{},"params":{},"headers":{},"remoteAddress":"::ffff:10.0.0.3","remotePort":5000},"res":{"statusCode":500,"headers":{}},"err":{"type":"Error","message":"boom"},"responseTime":2,"msg":"request errored"}\n',
    hour: 15,
    users: 1,
    lines: 1,
  },
  gcp: {
    data: '{"httpRequest":{"requestMethod":"GET","requestUrl":"https://example.com/","status":502,"remoteIp":"10.0.0.9:51234","latency":"0.100s"},"insertId":"x","resource":{"type":"http_load_balancer"},"severity":"WARNING","timestamp":"2026-11-23T14:15:00.123456Z"}\n',
    hour: 14,
    users: 1,
    lines: 1,
  },
}

describe('docs/your-logs.md recipes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'loghour-recipes-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('has a tested recipe for every row, and only those', () => {
    const names = [...YOUR_LOGS.matchAll(/<!-- recipe: ([a-z-]+) -->/g)].map((m) => m[1])
    expect(names.sort()).toEqual(Object.keys(CASES).sort())
  })

  it.each(Object.entries(CASES))('%s', async (name, c) => {
    const { program, flags } = recipe(name)
    let hours: number[]
    let lines: { total: number; counted: number; invalid: number }
    if (program === 'analyze') {
      const file = join(dir, `${name}.log`)
      writeFileSync(file, c.data)
      const result = await run('loghour.js', ['analyze', '--json', ...flags, file])
      expect(result.stderr).toBe('')
      ;({ hours, lines } = JSON.parse(result.stdout.toString()))
    } else {
      const server = await startServer([...flags, '--stats-interval', '0.05'])
      await sendTcp(server.port, Buffer.from(c.data))
      const report = await server.waitForLog((r) => (r.lines as { total?: number } | undefined)?.total === c.lines, 0)
      lines = report.lines as typeof lines
      await server.waitForLog((r) => Array.isArray(r.hours) && (r.hours as number[])[c.hour] === c.users, 0)
      hours = server.lastHours()!
    }
    expect(lines).toMatchObject({ total: c.lines, invalid: 0 })
    expect(hours[c.hour]).toBe(c.users)
    expect(hours.reduce((a, b) => a + b, 0)).toBe(c.users)
  })

  /** The reading each producer's bytes are detected as, with no reading flag. */
  const DETECTED: Record<string, string> = {
    combined: 'combined',
    'nginx-json': 'original',
    'apache-json': 'original',
    caddy: 'caddy',
    traefik: 'traefik',
    ecs: 'ecs',
    logstash: 'json (json-stream)',
    vector: 'combined in message',
    docker: 'original in log',
    'fluent-bit': 'json',
    rsyslog: 'combined',
    'pino-http': 'pino-http',
    gcp: 'gcp',
  }

  it.each(Object.entries(CASES))('%s, with no reading flag: the same answer, the reading detected', async (name, c) => {
    const { flags } = recipe(name)
    // Only the zone stays: how the records are read is left to --format auto.
    const zone = flags.flatMap((f, i) => (f === '--timezone' ? [f, flags[i + 1]!] : []))
    const file = join(dir, `${name}.auto.log`)
    writeFileSync(file, c.data)
    const result = await run('loghour.js', ['analyze', '--json', ...zone, file])
    expect(result.stderr).toBe('')
    const { hours, lines, reading, streams } = JSON.parse(result.stdout.toString())
    expect(lines).toMatchObject({ total: c.lines, invalid: 0 })
    expect(hours[c.hour]).toBe(c.users)
    expect(hours.reduce((a: number, b: number) => a + b, 0)).toBe(c.users)
    expect(reading).toMatchObject({ detected: true, readable: reading.sampled })
    expect(reading.sampled).toBeGreaterThan(0)
    expect(streams.readings).toEqual({ [DETECTED[name]!]: 1 })
  })

  it('shows the nginx log_format and the rsyslog configuration the real-program tests use', () => {
    expect(YOUR_LOGS).toContain(NGINX_JSON_FORMAT)
    expect(YOUR_LOGS).toContain(rsyslogRecipe('/var/log/nginx/access.log', 2525))
    const tls = { ca: '/etc/loghour/ca.pem', cert: '/etc/loghour/rsyslog.pem', key: '/etc/loghour/rsyslog-key.pem' }
    expect(SERVER).toContain(rsyslogTlsRecipe('/var/log/nginx/access.log', 2525, tls))
    expect(REDIS).toContain(haproxyRecipe(2525, [2526, 2527, 2528]))
  })
})
