// docs/opentelemetry.md's app recipes, run as written (their code blocks, extracted here): the Node
// service (the JS SDK, one record per finished request, sent when SIGTERM shuts its provider down)
// answers requests from several 127.0.0.x addresses, the Python one (logging + LoggingHandler) logs
// its one request; both send to a real loghour-server through the standard OTEL_EXPORTER_OTLP_*
// variables, with their clocks pinned by libfaketime to a Monday. The Redis hours, and each
// group's, equal PFCOUNT after PFADD of the elements this test computes on its own; the Python
// handler's `extra` fields arrive as attributes of the right types (an intValue status).
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, request } from 'node:http'
import { connect } from 'node:net'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import protobuf from 'protobufjs'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { groupKey, hourKey } from '../src/stores/keys.js'
import { ROOT } from './helpers/cli.js'
import { otelPython } from './helpers/otel.js'
import { freePort, pfcounts, skipRedis, useRedis } from './helpers/redis.js'
import { eventually, httpBase, startServer } from './helpers/server.js'
import { LIBFAKETIME, missing, pinnedClock } from './helpers/tools.js'

const GUIDE = readFileSync(join(ROOT, 'docs/opentelemetry.md'), 'utf8')
const TOKEN = 'recipe-token'
const NOW = '2026-11-23 09:15:00' // a Monday, UTC: every record falls in this hour
const HOUR = 9
const element = (ip: string) => `2026-11-23 ${String(HOUR).padStart(2, '0')}_${ip}`

/** The code block after `<!-- otel-recipe: NAME -->`. */
function recipe(name: string, lang: string): string {
  const m = new RegExp(`<!-- otel-recipe: ${name} -->\\n\`\`\`${lang}\\n([\\s\\S]*?)\\n\`\`\`\\n`).exec(GUIDE)
  if (!m) throw new Error(`docs/opentelemetry.md has no ${lang} block after <!-- otel-recipe: ${name} -->`)
  return `${m[1]}\n`
}

/** The app's environment: no OTEL_* of ours, the endpoint and token as the guide says, the clock pinned. */
function appEnv(endpoint: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env }
  for (const key of Object.keys(env)) if (key.startsWith('OTEL_')) delete env[key]
  return {
    ...env,
    OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: endpoint,
    OTEL_EXPORTER_OTLP_HEADERS: `authorization=Bearer%20${TOKEN}`,
    TZ: 'UTC',
    ...pinnedClock(NOW),
    ...extra,
  }
}

/** Spawns an app, killed when the test ends; `exited` resolves with its exit code (or signal) and what it wrote to stderr. */
function spawnApp(command: string, args: string[], env: NodeJS.ProcessEnv) {
  const child: ChildProcess = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] })
  onTestFinished(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  let stderr = ''
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()))
  const exited = new Promise<{ code: number | string | null; stderr: string }>((resolve) =>
    child.once('close', (code, signal) => resolve({ code: code ?? signal, stderr })),
  )
  return { child, exited }
}

/** A GET from `localAddress` (a 127.0.0.x of its own), resolving with the status. */
function get(port: number, path: string, localAddress: string): Promise<number> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path, localAddress }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode!))
    })
      .on('error', reject)
      .end()
  })
}

/** True once something accepts TCP connections on the port (a probe that makes no request, so no record). */
const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect({ host: '127.0.0.1', port })
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })

/** Just enough of OTLP's .proto (opentelemetry-proto v1, its field numbers) to read what the Python app sends. */
const PROTO = protobuf
  .parse(`
  syntax = "proto3";
  message AnyValue { oneof value { string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4; } }
  message KeyValue { string key = 1; AnyValue value = 2; }
  message Resource { repeated KeyValue attributes = 1; }
  message LogRecord { fixed64 time_unix_nano = 1; AnyValue body = 5; repeated KeyValue attributes = 6; }
  message ScopeLogs { repeated LogRecord log_records = 2; }
  message ResourceLogs { Resource resource = 1; repeated ScopeLogs scope_logs = 2; }
  message ExportLogsServiceRequest { repeated ResourceLogs resource_logs = 1; }
`)
  .root.lookupType('ExportLogsServiceRequest')

type Value = { stringValue?: string; intValue?: number; doubleValue?: number; boolValue?: boolean }
type Decoded = {
  resourceLogs: {
    resource: { attributes: { key: string; value: Value }[] }
    scopeLogs: { logRecords: { timeUnixNano: number; body: Value; attributes: { key: string; value: Value }[] }[] }[]
  }[]
}

type Stats = { lines: { total: number }; groups?: { value: string; hours: number[] }[] }

describe.skipIf(
  skipRedis() ||
    missing('libfaketime (apt-get install faketime)', LIBFAKETIME !== undefined) ||
    missing('the OpenTelemetry Python SDK (bash .ci/run makes its virtual environment)', otelPython() !== undefined),
)("docs/opentelemetry.md's app recipes, as written", () => {
  const redis = useRedis()
  // The Node recipe imports the SDK by name: written inside the repository, it resolves its node_modules.
  let dir: string
  beforeAll(() => {
    mkdirSync(join(ROOT, 'test-output'), { recursive: true })
    dir = mkdtempSync(join(ROOT, 'test-output', 'otel-recipes-'))
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  /** A fresh Redis and a loghour-server taking OTLP/HTTP with the token, grouping by `groupBy`. */
  const start = async (groupBy: string) => {
    await redis.client().flushall()
    const server = await startServer([
      '--redis',
      redis.url,
      '--key-prefix',
      'recipe:',
      '--http',
      '127.0.0.1:0',
      '--ingest-token',
      TOKEN,
      '--ingest-ack',
      'flushed', // an acknowledged export is in Redis: counts are final once the app has exited
      '--group-by',
      groupBy,
    ])
    return httpBase(server)
  }

  /** The server's hours equal the reference's, and each group's its own (`groups`: value → client addresses). */
  const expectCounts = async (http: string, groups: Record<string, string[]>, lines: number) => {
    const client = redis.client()
    for (const [value, ips] of Object.entries(groups)) {
      for (const ip of ips) await client.pfadd(`ref:${HOUR}`, element(ip))
      for (const ip of ips) await client.pfadd(`ref:${value}:${HOUR}`, element(ip))
    }
    const hours = await pfcounts(redis, 'recipe:')
    expect(hours).toEqual(await pfcounts(redis, 'ref:'))
    expect(hours[HOUR]).toBe(new Set(Object.values(groups).flat()).size)
    const stats = (await (await fetch(`${http}/stats`)).json()) as Stats
    expect(stats.lines.total, 'one record per request').toBe(lines)
    const got = stats.groups ?? []
    expect(got.map((g) => g.value).sort()).toEqual(Object.keys(groups).sort())
    for (const group of got) expect(group.hours, group.value).toEqual(await pfcounts(redis, `ref:${group.value}:`))
    // Equal counts could hide other elements (`::ffff:127.0.0.2` for `127.0.0.2`): the union with the reference adds none.
    const union = (key: string, ref: string) => client.pfcount(key, ref)
    expect(await union(hourKey('recipe:', HOUR), `ref:${HOUR}`), 'the same elements').toBe(hours[HOUR])
    for (const value of Object.keys(groups)) {
      expect(await union(groupKey('recipe:', HOUR, value), `ref:${value}:${HOUR}`), `${value}: the same elements`).toBe(
        new Set(groups[value]).size,
      )
    }
  }

  it('the Node service: each request from its client, 5xx on /fail…, sent when SIGTERM shuts the provider down', async () => {
    const http = await start('path')
    const script = join(dir, 'node-recipe.mjs')
    writeFileSync(script, recipe('node', 'js'))
    const port = await freePort()
    const app = spawnApp(process.execPath, [script], appEnv(`${http}/v1/logs`, { PORT: String(port) }))
    await eventually(
      async () => {
        if (app.child.exitCode !== null) throw new Error(`the Node recipe exited early: ${(await app.exited).stderr}`)
        return listening(port)
      },
      10_000,
      'the Node recipe to listen',
    )

    const requests = [
      { from: '127.0.0.2', path: '/fail', status: 503 },
      { from: '127.0.0.3', path: '/fail?retry=1', status: 503 }, // route /fail
      { from: '127.0.0.3', path: '/fail', status: 503 }, // a user already counted this hour
      { from: '127.0.0.4', path: '/failover/eu', status: 503 },
      { from: '127.0.0.5', path: '/', status: 200 }, // not an error: not counted
      { from: '127.0.0.2', path: '/cart?id=7', status: 200 },
    ]
    for (const { from, path, status } of requests) expect(await get(port, path, from), `${from} ${path}`).toBe(status)

    app.child.kill('SIGTERM')
    const { code, stderr } = await app.exited
    expect(code, stderr).toBe(0)
    expect(stderr, 'no error or warning').toBe('')
    await expectCounts(http, { '/fail': ['127.0.0.2', '127.0.0.3'], '/failover/eu': ['127.0.0.4'] }, requests.length)
  })

  it('the Python service: its one log_request call, grouped by service.name', async () => {
    const http = await start('service.name')
    const script = join(dir, 'python-recipe.py')
    writeFileSync(script, recipe('python', 'python'))
    const { code, stderr } = await spawnApp(otelPython()!, [script], appEnv(`${http}/v1/logs`)).exited
    expect(code, stderr).toBe(0)
    expect(stderr, 'no error or warning').toBe('')
    await expectCounts(http, { billing: ['10.0.0.7'] }, 1)
  })

  it('the Python service: LoggingHandler sends the `extra` fields as attributes of their types, the body formatted, at the pinned time', async () => {
    const bodies: Buffer[] = []
    const tokens: (string | undefined)[] = []
    const capture = createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (d: Buffer) => chunks.push(d))
      req.on('end', () => {
        const body = Buffer.concat(chunks)
        bodies.push(req.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body)
        tokens.push(req.headers.authorization)
        res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end()
      })
    })
    await new Promise<void>((resolve) => capture.listen(0, '127.0.0.1', resolve))
    onTestFinished(() => void capture.close())
    const { port } = capture.address() as { port: number }
    const script = join(dir, 'python-types.py')
    writeFileSync(script, recipe('python', 'python'))
    const { code, stderr } = await spawnApp(otelPython()!, [script], appEnv(`http://127.0.0.1:${port}/v1/logs`)).exited
    expect(code, stderr).toBe(0)
    expect(stderr, 'no error or warning').toBe('')

    expect(tokens).toEqual([`Bearer ${TOKEN}`])
    const request = PROTO.toObject(PROTO.decode(bodies[0]!), { longs: Number }) as Decoded
    const [resourceLogs] = request.resourceLogs
    const resource = Object.fromEntries(resourceLogs!.resource.attributes.map((a) => [a.key, a.value]))
    expect(resource['service.name']).toEqual({ stringValue: 'billing' })
    const records = resourceLogs!.scopeLogs.flatMap((s) => s.logRecords)
    expect(records).toHaveLength(1)
    const [record] = records
    expect(record!.body).toEqual({ stringValue: 'GET /invoices/{id} 503' })
    const attributes = Object.fromEntries(record!.attributes.map((a) => [a.key, a.value]))
    expect(attributes).toMatchObject({
      'http.request.method': { stringValue: 'GET' },
      'http.route': { stringValue: '/invoices/{id}' },
      'http.response.status_code': { intValue: 503 },
      'client.address': { stringValue: '10.0.0.7' },
    })
    // The pinned clock (it runs on from there): the same Monday hour.
    const at = new Date(record!.timeUnixNano / 1e6)
    expect(at.toISOString().slice(0, 13)).toBe('2026-11-23T09')
  })
})
