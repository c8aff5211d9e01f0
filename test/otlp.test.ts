// OpenTelemetry logs in, from the real SDKs: the Node SDK (@opentelemetry/sdk-logs with its OTLP/HTTP
// protobuf, OTLP/HTTP JSON and gRPC exporters) and the Python SDK (OTLP/HTTP protobuf and gRPC) send
// records with attributes, Combined lines and map bodies to one loghour-server; after each export the
// Redis counts equal PFCOUNT after PFADD of the elements this test computes on its own, per hour and
// per service (--group-by service.name, a resource attribute). Malformed and partly unreadable
// messages, encoded here with protobufjs from the .proto field numbers, get a 400 (nothing counted)
// and a partialSuccess; with Redis paused, the exporters retry and nothing is lost or doubled.
import { gzipSync } from 'node:zlib'
import protobuf from 'protobufjs'
import { describe, expect, it } from 'vitest'
import { grpcCall, grpcFrame, type OtlpAppSpec, type OtlpRecord, otelPython, runOtlpApp } from './helpers/otel.js'
import { pfcounts, type RedisServer, skipRedis, useRedis } from './helpers/redis.js'
import { eventually, httpBase, message, startServer } from './helpers/server.js'
import { missing } from './helpers/tools.js'

const TOKEN = 'otlp-test-token'
const AUTH = { authorization: `Bearer ${TOKEN}` }

/** The messages this test writes and reads, with OTLP's field numbers (opentelemetry-proto v1). */
const PROTO = protobuf.parse(`
  syntax = "proto3";
  message AnyValue { oneof value { string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4; KeyValueList kvlist_value = 6; } }
  message KeyValueList { repeated KeyValue values = 1; }
  message KeyValue { string key = 1; AnyValue value = 2; }
  message Resource { repeated KeyValue attributes = 1; }
  message LogRecord { fixed64 time_unix_nano = 1; fixed64 observed_time_unix_nano = 11; AnyValue body = 5; repeated KeyValue attributes = 6; }
  message ScopeLogs { repeated LogRecord log_records = 2; }
  message ResourceLogs { Resource resource = 1; repeated ScopeLogs scope_logs = 2; }
  message ExportLogsServiceRequest { repeated ResourceLogs resource_logs = 1; }
  message ExportLogsPartialSuccess { int64 rejected_log_records = 1; string error_message = 2; }
  message ExportLogsServiceResponse { ExportLogsPartialSuccess partial_success = 1; }
  message Status { int32 code = 1; string message = 2; }
`).root
const type = (name: string) => PROTO.lookupType(name)

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']
const pad = (n: number) => String(n).padStart(2, '0')

/** Records of every shape and what they count: `{hour → elements}`, also per service. */
interface Batch {
  records: OtlpRecord[]
  elements: { hour: number; element: string }[]
}

/**
 * `n` records from 2019-05-06 (a Monday) over a week, one shape after another: status and client as
 * attributes (current names, integer status), as older attributes (string status), a Combined line
 * body, a map body; and every ninth a record nothing reads. Clients `10.<seed>.x.y` keep batches apart.
 */
function batch(seed: number, n: number): Batch {
  const records: OtlpRecord[] = []
  const elements: Batch['elements'] = []
  for (let i = 0; i < n; i++) {
    const at = new Date(Date.UTC(2019, 4, 6 + (i % 7), (i * 5) % 24, i % 60, (i * 7) % 60))
    const ip = `10.${seed}.${i % 41}.${i % 3}`
    const status = [503, 500, 200, 502, 404][i % 5]!
    const ns = `${BigInt(at.getTime()) * 1_000_000n + BigInt(i)}`
    const shape = i % 9 === 8 ? 'unreadable' : (['attributes', 'older', 'combined', 'map'] as const)[i % 4]!
    const clf = `${pad(at.getUTCDate())}/${MONTHS[at.getUTCMonth()]}/${at.getUTCFullYear()}:${pad(at.getUTCHours())}:${pad(at.getUTCMinutes())}:${pad(at.getUTCSeconds())} +0000`
    if (shape === 'attributes') {
      records.push({
        timeUnixNano: ns,
        attributes: { 'http.response.status_code': status, 'client.address': ip, 'http.route': '/cart/{id}' },
      })
    } else if (shape === 'older') {
      records.push({ timeUnixNano: ns, attributes: { 'http.status_code': String(status), 'net.peer.ip': ip } })
    } else if (shape === 'combined') {
      records.push({ body: `${ip} - - [${clf}] "GET /cart/${i} HTTP/1.1" ${status} 512 "-" "curl/8.5"` })
    } else if (shape === 'map') {
      records.push({ timeUnixNano: ns, body: { time: at.toISOString(), ip, status_code: status } })
    } else {
      records.push({ body: 'user 17 logged in' })
      continue
    }
    const weekday = at.getUTCDay() >= 1 && at.getUTCDay() <= 5
    if (weekday && status >= 500) {
      elements.push({ hour: at.getUTCHours(), element: `${at.toISOString().slice(0, 10)} ${pad(at.getUTCHours())}_${ip}` })
    }
  }
  return { records, elements }
}

/** PFADDs `elements` into `<prefix><hour>`. */
async function pfadd(redis: RedisServer, prefix: string, elements: Batch['elements']): Promise<void> {
  const client = redis.client()
  for (const { hour, element } of elements) await client.pfadd(`${prefix}${hour}`, element)
}

type Stats = { lines: { total: number }; groups?: { value: string; hours: number[] }[] }

describe.skipIf(
  skipRedis() || missing('the OpenTelemetry Python SDK (bash .ci/run makes its virtual environment)', otelPython() !== undefined),
)('OTLP logs from the OpenTelemetry SDKs', () => {
  const redis = useRedis()

  /** Acknowledged once Redis confirmed, a token asked, grouped by service: the SDK tests' server. */
  const SDK_SERVER = ['--ingest-token', TOKEN, '--ingest-ack', 'flushed', '--group-by', 'service.name']

  const start = async (extra: string[] = [], settings = SDK_SERVER) => {
    await redis.client().flushall() // each test's counts and reference alone
    const listen = ['--key-prefix', 'otlp:', '--http', '127.0.0.1:0', '--otlp-grpc', '127.0.0.1:0']
    const server = await startServer(['--redis', redis.url, ...listen, ...settings, ...extra])
    const http = await httpBase(server)
    const grpcPort = ((await server.waitForLog(message('OTLP/gRPC logs on'), 0)).otlpGrpc as { port: number }).port
    return { server, http, grpc: `http://127.0.0.1:${grpcPort}`, grpcPort }
  }
  const stats = async (http: string) => (await (await fetch(`${http}/stats`)).json()) as Stats

  /** The server's hours, and each service's, equal the reference's. */
  const expectReference = async (http: string, services: Map<string, Batch['elements']>) => {
    expect(await pfcounts(redis, 'otlp:')).toEqual(await pfcounts(redis, 'ref:'))
    // Not only as many: the same users (the union with the reference adds none).
    const client = redis.client()
    for (let hour = 0; hour < 24; hour++) {
      expect(await client.pfcount(`otlp:${hour}`, `ref:${hour}`), `hour ${hour}`).toBe(await client.pfcount(`ref:${hour}`))
    }
    const groups = (await stats(http)).groups ?? []
    expect(groups.map((g) => g.value).sort()).toEqual([...services.keys()].sort())
    for (const group of groups) expect(group.hours, group.value).toEqual(await pfcounts(redis, `ref:${group.value}:`))
  }

  it('counts what the Node and Python SDKs send over HTTP protobuf, HTTP JSON and gRPC exactly', async () => {
    const { http, grpc } = await start()
    const services = new Map<string, Batch['elements']>()
    const sends: { app: 'node' | 'python'; protocol: OtlpAppSpec['protocol']; compression: 'gzip' | 'none' }[] = [
      { app: 'node', protocol: 'http/protobuf', compression: 'none' },
      { app: 'node', protocol: 'http/json', compression: 'gzip' },
      { app: 'node', protocol: 'grpc', compression: 'gzip' },
      { app: 'python', protocol: 'http/protobuf', compression: 'gzip' },
      { app: 'python', protocol: 'grpc', compression: 'none' },
    ]
    for (const [seed, { app, protocol, compression }] of sends.entries()) {
      const { records, elements } = batch(seed, 300)
      const service = `${app}-${protocol.replace('/', '-')}`
      const url = protocol === 'grpc' ? grpc : `${http}/v1/logs`
      const result = await runOtlpApp(app, { protocol, url, headers: AUTH, compression, resource: { 'service.name': service }, records })
      expect(result, `${app} ${protocol}`).toEqual({ ok: true })
      // Acknowledged with --ingest-ack flushed: in Redis by the time the exporter returned.
      await pfadd(redis, 'ref:', elements)
      await pfadd(redis, `ref:${service}:`, elements)
      services.set(service, elements)
      await expectReference(http, services)
    }
    // Without the token: refused, over either transport, and nothing counted.
    const before = (await stats(http)).lines.total
    const { records } = batch(99, 20)
    for (const protocol of ['http/protobuf', 'grpc'] as const) {
      const url = protocol === 'grpc' ? grpc : `${http}/v1/logs`
      const refused = await runOtlpApp('node', { protocol, url, resource: {}, records, timeoutMillis: 3000 })
      expect(refused.ok, protocol).toBe(false)
    }
    expect((await stats(http)).lines.total).toBe(before)
  })

  it('answers a malformed message 400 (nothing counted), a partly unreadable one with partialSuccess, in its encoding', async () => {
    const { http, server } = await start()
    const post = (body: Buffer | string, contentType: string, headers: Record<string, string> = {}) =>
      fetch(`${http}/v1/logs`, { method: 'POST', body, headers: { 'content-type': contentType, ...AUTH, ...headers } })
    const request = {
      resourceLogs: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'shop' } }] },
          scopeLogs: [
            {
              logRecords: [
                {
                  timeUnixNano: '1557163554000000000', // Monday 2019-05-06 17:25:54 UTC
                  attributes: [
                    { key: 'http.response.status_code', value: { intValue: '503' } },
                    { key: 'client.address', value: { stringValue: '10.1.1.1' } },
                  ],
                },
                { body: { stringValue: 'not an access log line' } },
                {},
              ],
            },
          ],
        },
      ],
    }
    const Request = type('ExportLogsServiceRequest')
    const protoRequest = Buffer.from(
      Request.encode(
        Request.fromObject({
          resourceLogs: [
            {
              resource: { attributes: [{ key: 'service.name', value: { stringValue: 'shop' } }] },
              scopeLogs: [
                {
                  logRecords: [
                    {
                      timeUnixNano: '1557163554000000000',
                      attributes: [
                        { key: 'http.response.status_code', value: { intValue: 503 } },
                        { key: 'client.address', value: { stringValue: '10.1.1.2' } },
                      ],
                    },
                    { body: { stringValue: 'not an access log line' } },
                    {},
                  ],
                },
              ],
            },
          ],
        }),
      ).finish(),
    )
    const before = (await stats(http)).lines.total

    // Malformed: a length past the end (protobuf), a wrong shape (JSON), not JSON: 400, nothing counted.
    const truncated = await post(protoRequest.subarray(0, protoRequest.length - 3), 'application/x-protobuf')
    expect(truncated.status).toBe(400)
    expect(truncated.headers.get('content-type')).toBe('application/x-protobuf')
    const status = type('Status').toObject(type('Status').decode(Buffer.from(await truncated.arrayBuffer()))) as {
      code: number
      message: string
    }
    expect(status.code).toBe(3) // INVALID_ARGUMENT
    expect(status.message).toMatch(/not an OTLP logs request in protobuf/)
    for (const bad of ['{"resourceLogs":5}', '{"resourceLogs":[{"scopeLogs":[{"logRecords":[7]}]}]}', 'nope']) {
      const answer = await post(bad, 'application/json')
      expect(answer.status, bad).toBe(400)
      expect(((await answer.json()) as { code: number }).code).toBe(3)
    }
    expect((await stats(http)).lines.total).toBe(before)

    // Partly unreadable: one counted, two rejected, said in the answer's encoding.
    const partial = await post(gzipSync(protoRequest), 'application/x-protobuf', { 'content-encoding': 'gzip' })
    expect(partial.status).toBe(200)
    const Response = type('ExportLogsServiceResponse')
    const answer = Response.toObject(Response.decode(Buffer.from(await partial.arrayBuffer())), { longs: Number }) as {
      partialSuccess: { rejectedLogRecords: number; errorMessage: string }
    }
    expect(answer.partialSuccess.rejectedLogRecords).toBe(2)
    expect(answer.partialSuccess.errorMessage).toMatch(/^2 of 3 log records could not be read \(/)
    const json = await post(JSON.stringify(request), 'application/json; charset=utf-8')
    expect(json.status).toBe(200)
    expect(await json.json()).toMatchObject({ partialSuccess: { rejectedLogRecords: '2' } })
    expect((await stats(http)).lines.total).toBe(before + 6)
    await pfadd(redis, 'ref:', [
      { hour: 17, element: '2019-05-06 17_10.1.1.1' },
      { hour: 17, element: '2019-05-06 17_10.1.1.2' },
    ])
    expect(await pfcounts(redis, 'otlp:')).toEqual(await pfcounts(redis, 'ref:'))

    // Another type, no token, the wrong method: 415, 401, 405.
    expect((await post('x', 'text/plain')).status).toBe(415)
    const anonymous = await fetch(`${http}/v1/logs`, {
      method: 'POST',
      body: protoRequest,
      headers: { 'content-type': 'application/x-protobuf' },
    })
    expect(anonymous.status).toBe(401)
    expect((await fetch(`${http}/v1/logs`)).status).toBe(405)
    expect(server.logs.some((r) => r.msg.startsWith('POST /v1/logs from') && r.msg.includes(': 400, the body is not'))).toBe(true)
  })

  it('acknowledges once counted, or once Redis confirmed when a request asks (?sync=1, loghour-sync metadata)', async () => {
    // Answers once counted, unless a request asks for the store's confirmation.
    const { http, grpcPort: port } = await start(['--redis-timeout', '500'], [])
    const Request = type('ExportLogsServiceRequest')
    const one = (ip: string) =>
      Buffer.from(
        Request.encode(
          Request.fromObject({
            resourceLogs: [
              {
                scopeLogs: [
                  {
                    logRecords: [
                      {
                        timeUnixNano: '1557163554000000000',
                        attributes: [
                          { key: 'http.response.status_code', value: { intValue: 503 } },
                          { key: 'client.address', value: { stringValue: ip } },
                        ],
                      },
                    ],
                  },
                ],
              },
            ],
          }),
        ).finish(),
      )
    const post = (body: Buffer, query = '') =>
      fetch(`${http}/v1/logs${query}`, { method: 'POST', body, headers: { 'content-type': 'application/x-protobuf' } })
    redis.process.kill('SIGSTOP')
    try {
      expect((await post(one('10.9.0.1'))).status).toBe(200) // counted; not waiting for the store
      expect((await grpcCall(port, [grpcFrame(one('10.9.0.2'))])).status).toBe('0')
      const refused = await post(one('10.9.0.3'), '?sync=1')
      expect(refused.status).toBe(503)
      expect(refused.headers.get('retry-after')).toBe('2')
      const status = type('Status').toObject(type('Status').decode(Buffer.from(await refused.arrayBuffer()))) as {
        code: number
        message: string
      }
      expect(status).toMatchObject({ code: 14, message: expect.stringMatching(/^counted, but the store did not confirm/) })
      expect((await grpcCall(port, [grpcFrame(one('10.9.0.4'))], { 'loghour-sync': '1' })).status).toBe('14')
    } finally {
      redis.process.kill('SIGCONT')
    }
    await eventually(async () => (await fetch(`${http}/readyz`)).status === 200, 10_000, 'ready again')
    expect((await post(one('10.9.0.5'), '?sync=1')).status).toBe(200)
    expect((await grpcCall(port, [grpcFrame(one('10.9.0.6'))], { 'loghour-sync': '1' })).status).toBe('0')
    // Everything counted while Redis was paused reached it with the confirmed ones.
    expect((await pfcounts(redis, 'otlp:'))[17]).toBe(6)
  })

  it('with Redis paused, the exporters retry (503 or UNAVAILABLE) and nothing is lost or doubled', async () => {
    const { server, http, grpc } = await start(['--redis-timeout', '500'])
    const services = new Map<string, Batch['elements']>()
    for (const [seed, app, protocol] of [
      [20, 'node', 'http/protobuf'],
      [21, 'python', 'grpc'],
    ] as const) {
      const { records, elements } = batch(seed, 120)
      const service = `${app}-paused`
      const from = server.logs.length
      redis.process.kill('SIGSTOP')
      let resumed = false
      try {
        const url = protocol === 'grpc' ? grpc : `${http}/v1/logs`
        const sent = runOtlpApp(app, {
          protocol,
          url,
          headers: AUTH,
          resource: { 'service.name': service },
          records,
          timeoutMillis: 30_000,
        })
        const refused = await server.waitForLog(
          (r) => r.msg.includes(' from ') && r.msg.includes(': 503, counted, but the store did not confirm'),
          from,
        )
        expect(refused.msg).toMatch(app === 'node' ? /^POST \/v1\/logs/ : /^OTLP\/gRPC Export/)
        redis.process.kill('SIGCONT')
        resumed = true
        expect(await sent, `${app} ${protocol}`).toEqual({ ok: true })
      } finally {
        if (!resumed) redis.process.kill('SIGCONT')
      }
      await pfadd(redis, 'ref:', elements)
      await pfadd(redis, `ref:${service}:`, elements)
      services.set(service, elements)
      await eventually(async () => (await fetch(`${http}/readyz`)).status === 200, 10_000, 'ready again')
      await expectReference(http, services)
    }
  })
})
