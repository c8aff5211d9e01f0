// Baseline (a): the original service's design ported to Node — readline over the socket,
// JSON.parse per line, and one awaited ioredis PFADD per counted line.
import { createServer } from 'node:net'
import { createInterface } from 'node:readline'
import { Redis } from 'ioredis'
import { element } from './element.mjs'

const redis = new Redis({ port: Number(process.env.REDIS_PORT), host: '127.0.0.1' })
const prefix = process.env.PREFIX ?? 'await_'

const server = createServer(async (socket) => {
  let bytes = 0
  let started = 0n
  socket.on('data', (chunk) => {
    if (bytes === 0) started = process.hrtime.bigint()
    bytes += chunk.length
  })
  let lines = 0
  for await (const line of createInterface({ input: socket, crlfDelay: Infinity })) {
    lines++
    const e = element(line.trim())
    if (e) await redis.pfadd(`${prefix}${e[0]}`, e[1])
  }
  const ms = Number(process.hrtime.bigint() - started) / 1e6
  process.stdout.write(`${JSON.stringify({ bytes, lines, ms })}\n`)
  socket.end()
})
server.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`))
