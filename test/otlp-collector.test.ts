// The Collector recipes of docs/opentelemetry.md, run as written by a real OpenTelemetry Collector
// (scripts/otelcol, built by .ci/run) against loghour-server and a real Redis: its filelog receiver
// tails the Combined log a real nginx wrote (clock pinned on a weekday), its otlphttp or otlp (gRPC)
// exporter sends each line as a record's body with the ingest token from the environment. The only
// changes to a recipe: nginx's log path and loghour's ports. The Redis counts must equal PFCOUNT
// after PFADD of the elements this test computes on its own, and /stats must have read every line.
import { readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ROOT } from './helpers/cli.js'
import { CURL, curl, LIBFAKETIME, NGINX, nginxDir, startNginx } from './helpers/nginx.js'
import { otelcolBinary, startCollector } from './helpers/otelcol.js'
import { pfcounts, skipRedis, useRedis } from './helpers/redis.js'
import { referenceCounts } from './helpers/reference.js'
import { eventually, httpBase, message, startServer } from './helpers/server.js'
import { missing } from './helpers/tools.js'

const TOKEN = 'collector-test-token'

/** nginx's clock: a Tuesday, in UTC (the hour the lines say is the hour counted). */
const NOW = '2026-11-24 14:20:00'

/** The requests nginx answers: 5xx from two clients (one of them twice), and others. */
const REQUESTS = [
  { ip: '127.0.0.2', status: 503 },
  { ip: '127.0.0.3', status: 200 },
  { ip: '127.0.0.2', status: 500 },
  { ip: '127.0.0.4', status: 502 },
  { ip: '127.0.0.5', status: 404 },
  { ip: '127.0.0.4', status: 200 },
]

/** The YAML block after `<!-- otel-recipe: NAME -->` in docs/opentelemetry.md. */
function recipe(name: string): string {
  const doc = readFileSync(join(ROOT, 'docs/opentelemetry.md'), 'utf8')
  const block = new RegExp(`<!-- otel-recipe: ${name} -->\\n\`\`\`yaml\\n([\\s\\S]*?)\\n\`\`\`\\n`).exec(doc)
  if (!block) throw new Error(`docs/opentelemetry.md: no yaml block after <!-- otel-recipe: ${name} -->`)
  return `${block[1]}\n`
}

/** `yaml` with `from` replaced by `to`, which it must contain. */
function replaced(yaml: string, from: string, to: string): string {
  expect(yaml, `the recipe names ${from}`).toContain(from)
  return yaml.replaceAll(from, to)
}

interface Stats {
  hours: number[]
  lines: { total: number; counted: number; invalid: number }
  streams?: { readings: Record<string, number>; unreadable: number }
}

describe.skipIf(
  skipRedis() ||
    missing('nginx (apt-get install nginx-light)', NGINX !== undefined) ||
    missing('libfaketime (apt-get install faketime)', LIBFAKETIME !== undefined) ||
    missing('curl', CURL) ||
    missing('the OpenTelemetry Collector (bash .ci/run builds it from scripts/otelcol)', otelcolBinary() !== undefined),
)('the Collector recipes of docs/opentelemetry.md, with a real Collector and a real nginx', () => {
  const redis = useRedis()
  let dir = ''
  let lines = 0

  beforeAll(async () => {
    dir = nginxDir()
    const nginx = await startNginx(dir, NOW, 'UTC')
    try {
      for (const { ip, status } of REQUESTS) expect(curl(nginx.port, ip, status)).toBe(status)
    } finally {
      await nginx.stop() // its log is complete
    }
    lines = readFileSync(join(dir, 'access.log'), 'utf8').trim().split('\n').length
    // Each request, and the readiness probe of startNginx.
    expect(lines).toBe(REQUESTS.length + 1)
  }, 30_000)

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it.each([
    ['collector-http', 'OTLP/HTTP (otlphttp)', 'http'],
    ['collector-grpc', 'OTLP/gRPC (otlp)', 'grpc'],
  ])('%s: %s counts what nginx logged exactly', async (name, _, transport) => {
    await redis.client().flushall()
    const server = await startServer([
      '--redis',
      redis.url,
      '--key-prefix',
      'otel:',
      '--http',
      '127.0.0.1:0',
      '--otlp-grpc',
      '127.0.0.1:0',
      '--ingest-token',
      TOKEN,
    ])
    const http = await httpBase(server)
    const grpcPort = ((await server.waitForLog(message('OTLP/gRPC logs on'), 0)).otlpGrpc as { port: number }).port
    let yaml = replaced(recipe(name), '/var/log/nginx/access.log', join(dir, 'access.log'))
    yaml =
      name === 'collector-http'
        ? replaced(yaml, '127.0.0.1:4318', http.slice('http://'.length))
        : replaced(yaml, '127.0.0.1:4317', `127.0.0.1:${grpcPort}`)

    // The reference: each working-day 5xx request's element, `YYYY-MM-DD HH_<ip>` of the hour its line says.
    const want = await referenceCounts(
      redis,
      'ref:',
      REQUESTS.map((r) => ({ ...r, dateHour: NOW.slice(0, 13), weekday: 2 })),
    )
    expect(want[14]).toBe(2)

    const collector = await startCollector(yaml, { LOGHOUR_INGEST_TOKEN: TOKEN })
    const stats = async () => (await (await fetch(`${http}/stats`)).json()) as Stats
    try {
      await eventually(
        async () => (await stats()).lines.total >= lines && JSON.stringify(await pfcounts(redis, 'otel:')) === JSON.stringify(want),
        10_000,
        'every line read and counted in Redis',
      )
    } catch (error) {
      throw new Error(`${(error as Error).message}; /stats: ${JSON.stringify(await stats())}\nCollector:\n${collector.logs().slice(-4000)}`)
    }
    expect(await pfcounts(redis, 'otel:')).toEqual(want)
    const answer = await stats()
    expect(answer.hours).toEqual(want)
    expect(answer.lines).toMatchObject({ total: lines, counted: REQUESTS.filter((r) => r.status >= 500).length, invalid: 0 })
    expect(Object.keys(answer.streams?.readings ?? {})).toEqual(['combined'])
    expect(answer.streams?.unreadable).toBe(0)
    // Every export went over the recipe's transport and was answered 200.
    const metrics = await (await fetch(`${http}/metrics`)).text()
    const answered = [...metrics.matchAll(/^loghour_otlp_requests_total\{transport="(\w+)",code="(\d+)"\} (\d+)$/gm)]
    expect(answered.map(([, t, code]) => `${t} ${code}`)).toEqual([`${transport} 200`])
    expect(collector.logs()).not.toMatch(/\berror\b/i)
  })
})
