// The OpenTelemetry rows of `npm run bench`: records per second loghour-server takes as OTLP
// (HTTP protobuf, HTTP JSON, gRPC) beside POST /ingest NDJSON of the same records, in bodies of
// BODY_RECORDS records (an SDK's batch is 512, the Collector's 8192), two requests in flight; and
// the Collector filelog shape (each Combined line a string body) beside /ingest of those lines.
// The messages are encoded here with protobufjs (a devDependency) from OTLP's field numbers.
import http from 'node:http'
import http2 from 'node:http2'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const protobuf = require('protobufjs')

const BODY_RECORDS = 1000
const IN_FLIGHT = 2

const Request = protobuf
  .parse(`
  syntax = "proto3";
  message AnyValue { oneof value { string string_value = 1; int64 int_value = 3; } }
  message KeyValue { string key = 1; AnyValue value = 2; }
  message Resource { repeated KeyValue attributes = 1; }
  message LogRecord { fixed64 time_unix_nano = 1; fixed64 observed_time_unix_nano = 11; AnyValue body = 5; repeated KeyValue attributes = 6; }
  message ScopeLogs { repeated LogRecord log_records = 2; }
  message ResourceLogs { Resource resource = 1; repeated ScopeLogs scope_logs = 2; }
  message ExportLogsServiceRequest { repeated ResourceLogs resource_logs = 1; }
`)
  .root.lookupType('ExportLogsServiceRequest')

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']

/** The demo's JSON lines as requests: time (ns), client, status; and the same as a Combined line. */
function requestsOf(lines) {
  return lines.map((line) => {
    const { time, ip, status_code: status } = JSON.parse(line)
    const at = new Date(`${time.replace(' ', 'T')}Z`)
    const p = (n) => String(n).padStart(2, '0')
    const clf = `${ip} - - [${p(at.getUTCDate())}/${MONTHS[at.getUTCMonth()]}/${at.getUTCFullYear()}:${p(at.getUTCHours())}:${p(at.getUTCMinutes())}:${p(at.getUTCSeconds())} +0000] "GET /cart HTTP/1.1" ${status} 512 "-" "curl/8.5"`
    return { ns: BigInt(at.getTime()) * 1_000_000n, ip, status, line, clf }
  })
}

const attributes = (r) => [
  { key: 'http.response.status_code', value: { intValue: r.status } },
  { key: 'client.address', value: { stringValue: r.ip } },
]
const message = (logRecords) => ({
  resourceLogs: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'shop' } }] }, scopeLogs: [{ logRecords }] }],
})

/** Each row's bodies: the same records, BODY_RECORDS a body. */
function bodiesOf(requests) {
  const out = { ndjson: [], proto: [], json: [], clf: [], filelog: [] }
  for (let i = 0; i < requests.length; i += BODY_RECORDS) {
    const batch = requests.slice(i, i + BODY_RECORDS)
    out.ndjson.push(Buffer.from(`${batch.map((r) => r.line).join('\n')}\n`))
    out.clf.push(Buffer.from(`${batch.map((r) => r.clf).join('\n')}\n`))
    const withAttributes = message(batch.map((r) => ({ timeUnixNano: r.ns.toString(), attributes: attributes(r) })))
    out.proto.push(Buffer.from(Request.encode(Request.fromObject(withAttributes)).finish()))
    // OTLP's JSON encoding: 64-bit integers as strings.
    out.json.push(
      Buffer.from(
        JSON.stringify(
          message(
            batch.map((r) => ({
              timeUnixNano: r.ns.toString(),
              attributes: [
                { key: 'http.response.status_code', value: { intValue: String(r.status) } },
                { key: 'client.address', value: { stringValue: r.ip } },
              ],
            })),
          ),
        ),
      ),
    )
    const filelog = message(batch.map((r) => ({ observedTimeUnixNano: r.ns.toString(), body: { stringValue: r.clf } })))
    out.filelog.push(Buffer.from(Request.encode(Request.fromObject(filelog)).finish()))
  }
  return out
}

/** POSTs every body (IN_FLIGHT at a time, keep-alive); resolves with the elapsed ms. */
async function postAll(url, contentType, bodies) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: IN_FLIGHT })
  let next = 0
  const started = performance.now()
  const worker = async () => {
    while (next < bodies.length) {
      const body = bodies[next++]
      await new Promise((resolve, reject) => {
        const req = http.request(
          url,
          { method: 'POST', agent, headers: { 'content-type': contentType, 'content-length': body.length } },
          (res) => {
            res.resume()
            res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`${url} answered ${res.statusCode}`))))
          },
        )
        req.on('error', reject)
        req.end(body)
      })
    }
  }
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker))
  agent.destroy()
  return performance.now() - started
}

/** Calls LogsService/Export with every body (IN_FLIGHT at a time, one HTTP/2 connection). */
async function exportAll(address, bodies) {
  const session = http2.connect(address)
  let next = 0
  const started = performance.now()
  const worker = async () => {
    while (next < bodies.length) {
      const body = bodies[next++]
      const frame = Buffer.alloc(5 + body.length)
      frame.writeUInt32BE(body.length, 1)
      body.copy(frame, 5)
      await new Promise((resolve, reject) => {
        const call = session.request({
          ':method': 'POST',
          ':path': '/opentelemetry.proto.collector.logs.v1.LogsService/Export',
          'content-type': 'application/grpc',
          te: 'trailers',
        })
        call.on('trailers', (t) => (t['grpc-status'] === '0' ? resolve() : reject(new Error(`grpc-status ${t['grpc-status']}`))))
        call.on('error', reject)
        call.resume()
        call.end(frame)
      })
    }
  }
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker))
  session.close()
  return performance.now() - started
}

/**
 * Rounds of every row against one loghour-server (memory store), the rows in a different order
 * each round. Resolves with each row's milliseconds per round and the bytes it sent.
 */
export async function otlpRounds({ lines, rounds, startServer, log }) {
  const requests = requestsOf(lines)
  const bodies = bodiesOf(requests)
  const server = await startServer(['--otlp-grpc', '127.0.0.1:0', '--max-body', String(64 << 20)])
  const rows = {
    ndjson: () => postAll(`${server.http}/ingest`, 'application/x-ndjson', bodies.ndjson),
    proto: () => postAll(`${server.http}/v1/logs`, 'application/x-protobuf', bodies.proto),
    json: () => postAll(`${server.http}/v1/logs`, 'application/json', bodies.json),
    grpc: () => exportAll(server.grpc, bodies.proto),
    clf: () => postAll(`${server.http}/ingest`, 'text/plain', bodies.clf),
    filelog: () => postAll(`${server.http}/v1/logs`, 'application/x-protobuf', bodies.filelog),
  }
  const names = Object.keys(rows)
  const runs = Object.fromEntries(names.map((n) => [n, []]))
  log(`  OTLP: ${requests.length} records in bodies of ${BODY_RECORDS}, ${rounds} rounds after a warm-up`)
  for (let round = -1; round < rounds; round++) {
    const order = round % 2 === 0 ? names : [...names].reverse()
    for (const name of order) {
      const ms = await rows[name]()
      if (round >= 0) runs[name].push(ms)
    }
  }
  await server.stop()
  const bytes = Object.fromEntries(names.map((n) => [n, bodies[n === 'grpc' ? 'proto' : n].reduce((sum, b) => sum + b.length, 0)]))
  return { records: requests.length, bodyRecords: BODY_RECORDS, runs, bytes }
}
