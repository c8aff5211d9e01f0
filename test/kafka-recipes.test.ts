// docs/kafka.md's recipes: the message values Vector's kafka sink (json and text codecs), Fluent
// Bit's kafka output (json and raw), Logstash's kafka output (json codec) and Filebeat's
// output.kafka (string format) write, each on its own topic of a real broker, read by the guide's
// command as written (one server on every topic, no reading flag): every record counted, the
// answer of the lines themselves, and the reading each partition decided on.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ROOT } from './helpers/cli.js'
import { createTopic, kafkaAvailable, kafkaClient, produce, useKafka } from './helpers/kafka.js'
import { eventually, httpBase, startServer } from './helpers/server.js'
import { missing } from './helpers/tools.js'

const GUIDE = readFileSync(join(ROOT, 'docs/kafka.md'), 'utf8')

/** Two users hit a 5xx at 09:xx (as written), one request is a 200. */
const LINES = [
  '127.0.0.4 - - [23/Nov/2026:09:15:00 -0500] "GET /e500 HTTP/1.1" 500 177 "-" "Mozilla/5.0 (X11; Linux x86_64)"',
  '::1 - frank [23/Nov/2026:09:20:00 -0500] "GET /a HTTP/1.0" 503 2326 "-" "curl/8.5"',
  '127.0.0.4 - - [23/Nov/2026:09:21:00 -0500] "GET / HTTP/1.1" 200 612 "-" "curl/8.5"',
]

/** Each shipper's message value for a line (docs/kafka.md's table), and the reading it gets. */
const SHIPPERS: Record<string, { value: (line: string) => string; reading: string }> = {
  'vector-json': {
    value: (line) =>
      JSON.stringify({
        file: '/var/log/nginx/access.log',
        host: 'web1',
        message: line,
        source_type: 'file',
        timestamp: '2026-11-23T14:15:01.234567Z',
      }),
    reading: 'combined in message',
  },
  'vector-text': { value: (line) => line, reading: 'combined' },
  'fluent-bit-json': { value: (line) => JSON.stringify({ '@timestamp': 1795443301.234567, log: line }), reading: 'combined in log' },
  'fluent-bit-raw': { value: (line) => line, reading: 'combined' },
  'logstash-json': {
    value: (line) =>
      JSON.stringify({
        '@timestamp': '2026-11-23T14:15:01.234Z',
        '@version': '1',
        message: line,
        host: { name: 'web1' },
        log: { file: { path: '/var/log/nginx/access.log' } },
        event: { original: line },
      }),
    reading: 'combined in message',
  },
  'filebeat-string': { value: (line) => line, reading: 'combined' },
}

describe.skipIf(missing('Java and the Kafka broker jars (bash .ci/run copies them from Maven Central)', kafkaAvailable))(
  "docs/kafka.md's recipes",
  () => {
    const broker = useKafka()

    it("every shipper's message values, read with no reading flag: every record, the lines' answer, the reading decided", async () => {
      const kafka = kafkaClient(broker)
      const admin = kafka.admin()
      await admin.connect()
      for (const [topic, { value }] of Object.entries(SHIPPERS)) {
        await createTopic(admin, topic, 1)
        await produce(kafka, topic, LINES.map(value))
      }
      await admin.disconnect()
      const command = /<!-- kafka-recipe --> `loghour-server ([^`]+)`/.exec(GUIDE)![1]!.split(' ')
      expect(command).toEqual(['--kafka', 'kafka:9092', '--kafka-topic', 'access'])
      const args = [...command]
      args[1] = broker.bootstrap
      args[3] = Object.keys(SHIPPERS).join(',')
      const server = await startServer([...args, '--http', '127.0.0.1:0'])
      const http = await httpBase(server)
      type Answer = {
        hours: number[]
        lines: { total: number; invalid: number; counted: number }
        streams: { readings: Record<string, number> }
      }
      let answer: Answer | undefined
      const records = LINES.length * Object.keys(SHIPPERS).length
      await eventually(async () => {
        answer = (await (await fetch(`${http}/stats`)).json()) as Answer
        return answer.lines.total === records
      }, 30_000)
      expect(answer!.lines.invalid).toBe(0)
      expect(answer!.hours[9]).toBe(2)
      expect(answer!.hours.reduce((a, b) => a + b, 0)).toBe(2)
      const readings: Record<string, number> = {}
      for (const { reading } of Object.values(SHIPPERS)) readings[reading] = (readings[reading] ?? 0) + 1
      expect(answer!.streams.readings).toEqual(readings)
      expect(await server.stop()).toBe(0)
    }, 90_000)
  },
)
