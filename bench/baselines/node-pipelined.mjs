// Baseline (b): a pipelined Node variant — lines split per chunk, JSON.parse per line, and the
// chunk's elements sent as one ioredis pipeline with one PFADD per hour key (up to four
// pipelines in flight; the socket pauses beyond that).
import { createServer } from 'node:net'
import { Redis } from 'ioredis'
import { element } from './element.mjs'

const redis = new Redis({ port: Number(process.env.REDIS_PORT), host: '127.0.0.1' })
const prefix = process.env.PREFIX ?? 'pipelined_'
const MAX_IN_FLIGHT = 4

const server = createServer((socket) => {
  let bytes = 0
  let started = 0n
  let carry = ''
  let inFlight = 0
  const pending = new Set()
  const flushLines = (lines) => {
    const byKey = new Map()
    for (const line of lines) {
      if (!line.trim()) continue
      const e = element(line.trim())
      if (e) byKey.has(e[0]) ? byKey.get(e[0]).push(e[1]) : byKey.set(e[0], [e[1]])
    }
    if (byKey.size === 0) return
    const pipeline = redis.pipeline()
    for (const [hour, elements] of byKey) pipeline.pfadd(`${prefix}${hour}`, ...elements)
    inFlight++
    if (inFlight >= MAX_IN_FLIGHT) socket.pause()
    const p = pipeline.exec().then(() => {
      pending.delete(p)
      if (--inFlight < MAX_IN_FLIGHT) socket.resume()
    })
    pending.add(p)
  }
  socket.on('data', (chunk) => {
    if (bytes === 0) started = process.hrtime.bigint()
    bytes += chunk.length
    const parts = (carry + chunk.toString('utf8')).split('\n')
    carry = parts.pop()
    flushLines(parts)
  })
  socket.on('end', async () => {
    flushLines([carry])
    await Promise.all(pending)
    const ms = Number(process.hrtime.bigint() - started) / 1e6
    process.stdout.write(`${JSON.stringify({ bytes, ms })}\n`)
    socket.end()
  })
})
server.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`))
