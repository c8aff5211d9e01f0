#!/usr/bin/env node
// `npm run bench`: loghour's speed, memory and Redis cost, side by side with baselines run in the
// same process tree on the same data. Writes bench/RESULTS.md and bench/results.json.
//
// Needs a build (`npm run build`), cargo, redis-server, openssl and socat (`apt-get install -y socat`).
// Options: --runs N (timed runs after one warm-up, default 7; the core bench does at least 15, TCP 21), --quick (smaller data, for a
// smoke run; its results are not written).
import { execFileSync, spawn } from 'node:child_process'
import { once } from 'node:events'
import { createWriteStream, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { connect, createServer } from 'node:net'
import { cpus, release, totalmem } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { kafkaBenchAvailable, kafkaRounds } from './kafka.mjs'
import { otlpRounds } from './otlp.mjs'

const require = createRequire(import.meta.url)
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const { createConsumer, demoLines } = require(join(ROOT, 'dist/index.js'))
const { Redis } = require('ioredis')

const args = process.argv.slice(2)
const QUICK = args.includes('--quick')
const RUNS = Number(args[args.indexOf('--runs') + 1] || 0) || 7
/** TCP rounds are cheap (~0.6 s each) and the noisiest: more of them. */
const TCP_ROUNDS = Math.max(21, RUNS)
const LINES = QUICK ? 200_000 : 2_000_000
const AWAIT_LINES = QUICK ? 20_000 : 200_000
/** The OpenTelemetry rows: this many pattern-1 lines as log records. */
const OTLP_LINES = QUICK ? 50_000 : 400_000
/** The Kafka rows: this many pattern-1 lines, one per message. */
const KAFKA_LINES = QUICK ? 100_000 : 1_000_000
const KAFKA_ROUNDS = QUICK ? 1 : 5
/** The lifecycle rows send as much as the issue's measurement did: 4M lines per round. */
const LIFECYCLE_LINES = QUICK ? 400_000 : 4_000_000
/** A fresh server per round makes these the noisiest rows: more rounds still. */
const LIFECYCLE_ROUNDS = Math.max(31, RUNS)
const DATA = '/tmp/loghour-bench'
mkdirSync(DATA, { recursive: true })

const log = (...m) => process.stderr.write(`${m.join(' ')}\n`)
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const summary = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return { min: s[0], median: s[Math.floor(s.length / 2)], max: s[s.length - 1] }
}
const MB = 1e6

function requireTool(cmd, hint) {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' })
  } catch {
    throw new Error(`${cmd} is required: ${hint}`)
  }
}

function freePort() {
  return new Promise((resolve) => {
    const s = createServer()
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })
}

function rssOf(pid, field = 'VmRSS') {
  const m = new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return Number(m[1]) * 1024
}

/** Runs `fn` once to warm up, then RUNS times; returns the list of results. */
async function repeat(label, fn, runs = RUNS) {
  log(`  ${label}: warm-up + ${runs} runs`)
  await fn()
  const out = []
  for (let i = 0; i < runs; i++) out.push(await fn())
  return out
}

// ---------------------------------------------------------------- requests counted where answered

/** CPU time (user + system) of a process, in microseconds, from /proc. */
function cpuMicros(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return ((Number(fields[11]) + Number(fields[12])) / 100) * 1e6 // clock ticks are 1/100 s on Linux
}

/** `count` keep-alive GETs to `port`, `parallel` at a time; resolves with the elapsed ms. */
async function hammer(port, count, parallel = 16) {
  const http = await import('node:http')
  const agent = new http.Agent({ keepAlive: true, maxSockets: parallel })
  let sent = 0
  const started = performance.now()
  const worker = async () => {
    while (sent < count) {
      sent++
      await new Promise((resolve, reject) => {
        http
          .get({ port, host: '127.0.0.1', path: '/', agent }, (res) => {
            res.resume()
            res.on('end', resolve)
          })
          .on('error', reject)
      })
    }
  }
  await Promise.all(Array.from({ length: parallel }, worker))
  agent.destroy()
  return performance.now() - started
}

/**
 * The request middleware's cost: the same Node http app with and without it, in interleaved
 * rounds; per request, the app's CPU time (what the middleware adds to a service) and the
 * rate; and countRequest alone, in process.
 */
async function requestRounds() {
  const rounds = QUICK ? 3 : 11
  const requests = QUICK ? 5_000 : 40_000
  log(`  request middleware: ${rounds} rounds of ${requests} requests, with and without`)
  const out = { plain: [], middleware: [], plainCpu: [], middlewareCpu: [] }
  for (let i = 0; i < rounds; i++) {
    for (const mode of i % 2 === 0 ? ['plain', 'middleware'] : ['middleware', 'plain']) {
      const app = await startJsonProcess(process.execPath, [join(ROOT, 'bench/http-app.mjs'), mode], {}, (r) => r.port !== undefined)
      await hammer(app.first.port, 2_000) // warm-up: JIT, sockets
      const cpu = cpuMicros(app.child.pid)
      const ms = await hammer(app.first.port, requests)
      out[`${mode}Cpu`].push((cpuMicros(app.child.pid) - cpu) / requests)
      out[mode].push(ms)
      await app.stop()
    }
  }
  const consumer = createConsumer()
  const calls = 1_000_000
  const direct = []
  for (let r = 0; r < (QUICK ? 3 : 9); r++) {
    const t = performance.now()
    for (let i = 0; i < calls; i++) consumer.countRequest(`10.0.${i & 255}.${(i >> 8) & 255}`, i % 10 === 0 ? 500 : 200, 1795443300000 + i)
    direct.push(((performance.now() - t) * 1e6) / calls)
  }
  await consumer.close()
  const paired = out.plain.map((p, i) => p / out.middleware[i])
  return {
    requests,
    rps: { plain: (requests / summary(out.plain).median) * 1000, middleware: (requests / summary(out.middleware).median) * 1000 },
    cpuUs: { plain: summary(out.plainCpu).median, middleware: summary(out.middlewareCpu).median },
    rateRatio: summary(paired).median,
    countRequestNs: summary(direct).median,
    rounds: out,
  }
}

/** One big POST /ingest of the demo file, streamed by curl (`-T`, as a shipper streams), until the answer. */
async function httpIngestRounds(file, bytes) {
  requireTool('curl', 'apt-get install -y curl')
  const server = await loghourServer({}, ['--http', '127.0.0.1:0', '--max-body', String(bytes * 2)])
  const http = await server.next((r) => r.msg?.startsWith('HTTP endpoints'))
  const url = `http://127.0.0.1:${http.http.port}/ingest`
  const once = () =>
    new Promise((resolve, reject) => {
      const t = performance.now()
      const curl = spawn('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '-X', 'POST', '-T', file, url])
      let status = ''
      curl.stdout.on('data', (d) => (status += d))
      curl.on('exit', () => (status === '200' ? resolve(performance.now() - t) : reject(new Error(`POST /ingest answered ${status}`))))
    })
  const runs = await repeat('POST /ingest, one body of the whole file', once)
  await server.stop()
  return runs
}

// ---------------------------------------------------------------- data

function demoFile(lines) {
  const path = join(DATA, `pattern1-${lines}.log`)
  if (existsSync(path) && statSync(path).size > 0) return path
  const out = createWriteStream(path)
  for (let i = 1; i <= lines; i += 65536) out.write(demoLines(1, i, Math.min(65536, lines - i + 1)))
  out.end()
  return once(out, 'finish').then(() => path)
}

/**
 * The demo file with its dates moved by whole weeks to end at most today (the weekdays, so what
 * is counted, stay the same): what `--daily` keeps (its retained days end today).
 */
function recentFile(file) {
  const path = file.replace(/\.log$/, '.recent.log')
  if (existsSync(path) && statSync(path).size > 0) return path
  const text = readFileSync(file, 'latin1')
  const dates = [...new Set(text.match(/\d{4}-\d\d-\d\d/g))].sort()
  const dayOf = (d) => Math.floor(Date.parse(`${d}T00:00:00Z`) / 86_400_000)
  const weeks = Math.floor((Math.floor(Date.now() / 86_400_000) - dayOf(dates.at(-1))) / 7)
  const moved = new Map(dates.map((d) => [d, new Date((dayOf(d) + 7 * weeks) * 86_400_000).toISOString().slice(0, 10)]))
  writeFileSync(
    path,
    text.replace(/\d{4}-\d\d-\d\d/g, (d) => moved.get(d)),
    'latin1',
  )
  return path
}

/**
 * A Redis holding `days` days × 24 hours of day keys (up to today, `users` per key) and the time
 * of `stats({ from, to, by: 'weekday' })` over them: 24 PFCOUNTs of `days` keys and 120 of a
 * fifth of them, as `loghour stats --days N --by weekday` asks (and the CLI's own wall time).
 */
async function weekdayQuery(days, users) {
  log(`query: ${days} days × 24 hours of day keys, --by weekday`)
  const redis = await startRedis()
  const store = { redis: `redis://127.0.0.1:${redis.port}` }
  const usedMemory = async () => Number(/used_memory:(\d+)/.exec(await redis.client.info('memory'))[1])
  const empty = await usedMemory()
  const writer = createConsumer({ store, daily: true, retainDays: days + 5, flushIntervalMs: 60_000 })
  const today = Math.floor(Date.now() / 86_400_000)
  for (let d = today - days + 1; d <= today; d++) {
    const date = new Date(d * 86_400_000).toISOString().slice(0, 10)
    let text = ''
    for (let h = 0; h < 24; h++) {
      for (let u = 0; u < users; u++)
        text += `{"time":"${date} ${String(h).padStart(2, '0')}:00:00","ip":"10.0.${u >> 8}.${u & 255}","status_code":500}\n`
    }
    writer.write(text)
  }
  await writer.close()
  const keys = Number(/keys=(\d+)/.exec(await redis.client.info('keyspace'))[1])
  // Days with keys: working days only (weekends are never counted).
  const bytesPerDay = ((await usedMemory()) - empty) / Math.max(1, (keys - 24) / 24)
  const reader = createConsumer({ store, daily: true, retainDays: days + 5, closeTimeoutMs: 0 })
  const query = { days, by: 'weekday' }
  await reader.stats(query) // connects
  /** Times the query, as the keys are now. */
  const timeQuery = (label) =>
    repeat(
      label,
      async () => {
        const t = performance.now()
        await reader.stats(query)
        return performance.now() - t
      },
      15,
    )
  const ms = await timeQuery('stats({ days, by: weekday })')
  // The same keys as they were before day-hours went sparse (issue 21): every one dense.
  const dayKeys = (await redis.client.keys('{*}:*')).filter((k) => !k.includes('loghour-delta'))
  const sparseBytes = await usedMemory()
  for (let i = 0; i < dayKeys.length; i += 500) {
    const pipeline = redis.client.pipeline()
    for (const key of dayKeys.slice(i, i + 500)) pipeline.call('PFDEBUG', 'TODENSE', key)
    await pipeline.exec()
  }
  const bytesPerDayDense = ((await usedMemory()) - empty) / Math.max(1, (keys - 24) / 24)
  const msDense = await timeQuery('stats({ days, by: weekday }), the day keys dense')
  log(
    `Redis bytes per retained day: ${(bytesPerDay / 1024).toFixed(1)} KiB sparse, ${(bytesPerDayDense / 1024).toFixed(1)} KiB dense (${sparseBytes} B in all)`,
  )
  await reader.close()
  const cli = await repeat(
    'loghour stats --days N --by weekday (process)',
    async () => {
      const t = performance.now()
      execFileSync(
        process.execPath,
        [
          join(ROOT, 'dist/loghour.js'),
          'stats',
          '--redis',
          store.redis,
          '--days',
          String(days),
          '--by',
          'weekday',
          '--json',
          '--retain-days',
          String(days + 5),
        ],
        { stdio: 'ignore' },
      )
      return performance.now() - t
    },
    7,
  )
  await redis.stop()
  return { days, users, keys, bytesPerDay, bytesPerDayDense, ms, msDense, cli }
}

/** `lines` counted lines (Monday, 5xx) cycling over `users` distinct addresses. */
async function usersFile(users, lines) {
  const path = join(DATA, `users-${users}-${lines}.log`)
  if (existsSync(path) && statSync(path).size > 0) return path
  const out = createWriteStream(path)
  for (let start = 0; start < lines; start += 100_000) {
    let text = ''
    for (let i = start; i < Math.min(lines, start + 100_000); i++) {
      const u = i % users
      const hour = String(i % 24).padStart(2, '0')
      text += `{"time":"2019-05-06 ${hour}:00:00","ip":"10.${(u >> 16) & 255}.${(u >> 8) & 255}.${u & 255}","status_code":500}\n`
    }
    if (!out.write(text)) await once(out, 'drain')
  }
  out.end()
  await once(out, 'finish')
  return path
}

// ---------------------------------------------------------------- processes

/** Starts a process that prints JSON lines; resolves with it once `ready(record)` holds. */
async function startJsonProcess(cmd, argv, env, ready) {
  const child = spawn(cmd, argv, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] })
  const records = []
  let buffered = ''
  const waiters = []
  child.stdout.on('data', (d) => {
    buffered += d.toString()
    const lines = buffered.split('\n')
    buffered = lines.pop()
    for (const line of lines) {
      if (!line.trim().startsWith('{')) continue
      const r = JSON.parse(line)
      records.push(r)
      for (const w of [...waiters]) if (w.test(r)) waiters.splice(waiters.indexOf(w), 1) && w.resolve(r)
    }
  })
  const next = (test) => {
    const found = records.find((r) => test(r) && !r.__taken)
    if (found) {
      found.__taken = true
      return Promise.resolve(found)
    }
    return new Promise((resolve) => {
      const take = (r) => {
        r.__taken = true
        resolve(r)
      }
      waiters.push({ test, resolve: take })
    })
  }
  const first = await next(ready)
  const stop = async (signal = 'SIGTERM') => {
    child.kill(signal)
    return once(child, 'exit')
  }
  return { child, records, next, first, stop }
}

function loghourServer(extraEnv = {}, args = []) {
  return startJsonProcess(
    process.execPath,
    [join(ROOT, 'dist/loghour-server.js'), '--port', '0', '--log-level', 'debug', '--stats-interval', '0', ...args],
    extraEnv,
    (r) => r.msg?.startsWith('loghour-server listening'),
  )
}

/** A CA and a server certificate for localhost it signed (EC P-256, as the tests make them). */
function certificates() {
  const dir = join(DATA, 'tls')
  mkdirSync(dir, { recursive: true })
  const openssl = (...a) => execFileSync('openssl', a, { stdio: 'ignore', cwd: dir })
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes']
  openssl('req', '-x509', ...ec, '-days', '2', '-keyout', 'ca-key.pem', '-out', 'ca.pem', '-subj', '/CN=bench CA')
  openssl('req', ...ec, '-keyout', 'server-key.pem', '-out', 'server.csr', '-subj', '/CN=localhost')
  writeFileSync(join(dir, 'ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n')
  openssl(
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca-key.pem',
    '-set_serial',
    '1',
    '-days',
    '2',
    '-out',
    'server.pem',
    '-extfile',
    'ext',
  )
  return { ca: join(dir, 'ca.pem'), cert: join(dir, 'server.pem'), key: join(dir, 'server-key.pem') }
}

/** Sends a file with socat over TLS (verifying the server) in 64 KiB blocks; resolves with the sender's wall time (ms). */
async function socatTlsSend(file, port, ca, block = 65536) {
  const t = process.hrtime.bigint()
  const target = `OPENSSL:127.0.0.1:${port},cafile=${ca},commonname=localhost`
  const child = spawn('socat', ['-u', '-b', String(block), `FILE:${file}`, target], { stdio: 'ignore' })
  const [code] = await once(child, 'exit')
  if (code !== 0) throw new Error(`socat (TLS) exited with ${code}`)
  return Number(process.hrtime.bigint() - t) / 1e6
}

/** socat decrypting TLS into /dev/null, one child per connection: the TLS limit of this machine. */
async function tlsDiscard(tls) {
  const port = await freePort()
  const child = spawn(
    'socat',
    ['-u', `OPENSSL-LISTEN:${port},fork,reuseaddr,bind=127.0.0.1,cert=${tls.cert},key=${tls.key},verify=0`, 'OPEN:/dev/null'],
    { stdio: 'ignore' },
  )
  for (let i = 0; ; i++) {
    const up = await new Promise((resolve) => {
      const probe = connect(port, '127.0.0.1', () => {
        probe.destroy()
        resolve(true)
      }).on('error', () => resolve(false))
    })
    if (up) break
    if (i > 100) throw new Error('socat OPENSSL-LISTEN did not start')
    await sleep(50)
  }
  return {
    port,
    stop: () => {
      child.kill('SIGTERM')
      return once(child, 'exit')
    },
  }
}

/**
 * What an operator adds while data flows: Prometheus scraping /metrics every 100 ms and one open
 * dashboard (its /events stream). Resolves with a stop function and the scrape count.
 */
async function observe(httpPort) {
  const base = `http://127.0.0.1:${httpPort}`
  const dashboard = new AbortController()
  const events = await fetch(`${base}/events`, { signal: dashboard.signal })
  // Read and drop, as a browser's EventSource does between repaints; aborting ends it.
  const reading = events.body.pipeTo(new WritableStream()).catch(() => {})
  let scrapes = 0
  let scraping = true
  const scraper = (async () => {
    while (scraping) {
      const started = Date.now()
      await (await fetch(`${base}/metrics`)).text()
      scrapes++
      await sleep(Math.max(0, 100 - (Date.now() - started)))
    }
  })()
  return async () => {
    scraping = false
    await scraper
    dashboard.abort()
    await reading
    return scrapes
  }
}

async function startRedis() {
  const port = await freePort()
  const dir = join(DATA, `redis-${port}`)
  mkdirSync(dir, { recursive: true })
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], {
    stdio: 'ignore',
  })
  const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true })
  client.on('error', () => {})
  for (let i = 0; ; i++) {
    try {
      await client.connect()
      break
    } catch {
      if (i > 100) throw new Error('redis-server did not start')
      await sleep(50)
    }
  }
  const stop = async () => {
    client.disconnect()
    child.kill('SIGTERM')
    return once(child, 'exit')
  }
  return { port, client, stop }
}

/** Sends a file with socat in 64 KiB blocks; resolves with the sender's wall time (ms). */
async function socatSend(file, port, block = 65536) {
  const t = process.hrtime.bigint()
  const child = spawn('socat', ['-u', '-b', String(block), `FILE:${file}`, `TCP:127.0.0.1:${port}`], { stdio: 'ignore' })
  const [code] = await once(child, 'exit')
  if (code !== 0) throw new Error(`socat exited with ${code}`)
  return Number(process.hrtime.bigint() - t) / 1e6
}

async function loghourSend(file, port) {
  const t = process.hrtime.bigint()
  const child = spawn(process.execPath, [join(ROOT, 'dist/loghour.js'), 'send', '--port', String(port), file], { stdio: 'ignore' })
  await once(child, 'exit')
  return Number(process.hrtime.bigint() - t) / 1e6
}

// ---------------------------------------------------------------- measurements

function machine() {
  const sh = (c) => {
    try {
      return execFileSync('sh', ['-c', c], { encoding: 'utf8' }).trim()
    } catch {
      return 'unknown'
    }
  }
  return {
    cpu: `${cpus()[0]?.model ?? 'unknown'} × ${cpus().length}`,
    memory: `${(totalmem() / 2 ** 30).toFixed(0)} GiB`,
    kernel: release(),
    node: process.version,
    rustc: sh('rustc --version'),
    redis: sh("redis-server --version | awk '{print $3}'").replace('v=', ''),
    socat: sh("socat -V 2>/dev/null | grep 'socat version' | awk '{print $3}'"),
    date: new Date().toISOString(),
  }
}

function core() {
  log('core (Rust, one thread, pattern-1 data in memory)')
  execFileSync(
    'cargo',
    [
      'build',
      '--release',
      '--locked',
      '--example',
      'core_bench',
      '--example',
      'tcp_discard',
      '--manifest-path',
      join(ROOT, 'crate/Cargo.toml'),
    ],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  )
  const out = execFileSync(join(ROOT, 'crate/target/release/examples/core_bench'), [String(LINES / 2), String(Math.max(15, RUNS))], {
    encoding: 'utf8',
  })
  return out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
}

async function nodeBoundary(data) {
  log('core through LogConsumer.write (64 KiB Buffers)')
  const runs = await repeat('consumer.write', async () => {
    const consumer = createConsumer()
    const t = process.hrtime.bigint()
    for (let i = 0; i < data.length; i += 65536) consumer.write(data.subarray(i, i + 65536))
    const ms = Number(process.hrtime.bigint() - t) / 1e6
    await consumer.close()
    return ms
  })
  return runs
}

async function plainJs(data) {
  log('plain JS indexOf extraction, no Redis (for scale)')
  const text = data.toString('latin1')
  return repeat('indexOf', async () => {
    const t = process.hrtime.bigint()
    let counted = 0
    for (let start = 0; start < text.length; ) {
      let end = text.indexOf('\n', start)
      if (end < 0) end = text.length
      const s = text.indexOf('"status_code":', start)
      const status = Number(text.slice(s + 14, text.indexOf('}', s)))
      if (status >= 500 && status <= 599) {
        const t0 = text.indexOf('"time":"', start) + 8
        const day = new Date(`${text.slice(t0, t0 + 10)}T00:00:00Z`).getUTCDay()
        if (day > 0 && day < 6) counted++
      }
      start = end + 1
    }
    if (counted === 0) throw new Error('nothing counted')
    return Number(process.hrtime.bigint() - t) / 1e6
  })
}

async function nodeDiscard(file) {
  log("raw loopback TCP into a Node discard server ('data' events)")
  const server = createServer((socket) => {
    let first = 0n
    socket.on('data', () => (first ||= process.hrtime.bigint()))
    socket.on('end', () => {
      socket.emit('done', Number(process.hrtime.bigint() - first) / 1e6)
      socket.end()
    })
  })
  const times = []
  server.on('connection', (s) => s.on('done', (ms) => times.push(ms)))
  await new Promise((r) => server.listen(0, '127.0.0.1', r))
  await repeat('node discard', async () => {
    await socatSend(file, server.address().port)
    await sleep(50)
  })
  server.close()
  return times.slice(1)
}

/**
 * The TCP measurements, interleaved run by run so that the machine's drift hits them alike: the
 * raw TCP limit (socat → a Rust discard server), loghour-server with the memory store (socat and
 * `loghour send` as senders) and with the Redis store (socat), all timed by the receiver from the
 * first byte to the last byte read or line counted. Also returns what the Redis store cost.
 */
async function tcpRounds(file) {
  log('TCP, interleaved: raw limit, memory store (socat, loghour send, TLS, observed, --daily), Redis store')
  const recent = recentFile(file)
  const sink = await startJsonProcess(join(ROOT, 'crate/target/release/examples/tcp_discard'), [], {}, (r) => r.port)
  const memory = await loghourServer()
  const tls = certificates()
  const secure = await loghourServer({}, ['--tls-cert', tls.cert, '--tls-key', tls.key])
  const tlsSink = await tlsDiscard(tls)
  const daily = await loghourServer({}, ['--daily'])
  const observed = await loghourServer({}, ['--http', '127.0.0.1:0'])
  const httpPort = (await observed.next((r) => r.msg?.startsWith('HTTP endpoints'))).http.port
  // Watched the whole time, as in production: its rounds pay the steady cost, not a start-up.
  const stopObserving = await observe(httpPort)
  const redis = await startRedis()
  const redisServer = await loghourServer({ REDIS_ADDRESS: `redis://127.0.0.1:${redis.port}` })
  const closed = (server) => server.next((r) => r.msg?.startsWith('connection closed'))
  /** Milliseconds from the first byte to the last line counted, as the receiving server logs it. */
  const timed = async (done, send, port) => {
    const logged = done()
    await send(file, port)
    return (await logged).ms
  }
  const kinds = {
    raw: () => timed(() => sink.next((r) => r.ms !== undefined), socatSend, sink.first.port),
    memory: () => timed(() => closed(memory), socatSend, memory.first.port),
    // Next to its pair (plain), as the TLS rows are next to each other: drift hits both alike.
    observed: () => timed(() => closed(observed), socatSend, observed.first.port),
    send: () => timed(() => closed(memory), loghourSend, memory.first.port),
    // The same lines dated up to today, without and with --daily (which keeps those days).
    recent: () =>
      timed(
        () => closed(memory),
        (_, port) => socatSend(recent, port),
        memory.first.port,
      ),
    daily: () =>
      timed(
        () => closed(daily),
        (_, port) => socatSend(recent, port),
        daily.first.port,
      ),
    tls: () =>
      timed(
        () => closed(secure),
        (f, port) => socatTlsSend(f, port, tls.ca),
        secure.first.port,
      ),
    // Timed by the sender: socat's exit once its last record is written and the TLS session closed.
    tlsRaw: () => socatTlsSend(file, tlsSink.port, tls.ca),
    redis: () => timed(() => closed(redisServer), socatSend, redisServer.first.port),
  }
  const info = async () => {
    const stats = await redis.client.info('commandstats')
    const calls = Object.fromEntries([...stats.matchAll(/cmdstat_([^:]+):calls=(\d+)/g)].map((m) => [m[1], Number(m[2])]))
    const net = Number(/total_net_input_bytes:(\d+)/.exec(await redis.client.info('stats'))[1])
    return { calls, net }
  }
  await redis.client.config('RESETSTAT')
  const before = await info()
  const results = { raw: [], memory: [], send: [], recent: [], daily: [], tls: [], tlsRaw: [], observed: [], redis: [] }
  const rounds = TCP_ROUNDS
  log(`  warm-up + ${rounds} rounds`)
  for (const run of Object.values(kinds)) await run()
  // Forward in even rounds and backward in odd ones, so a drift of the machine within a round
  // falls on both sides of each pair alike.
  for (let r = 0; r < rounds; r++) {
    const order = Object.entries(kinds)
    for (const [k, run] of r % 2 === 0 ? order : order.reverse()) results[k].push(await run())
  }
  const observedMs = results.observed.reduce((a, b) => a + b, 0)
  const scrapes = await stopObserving()
  await redisServer.stop() // final flush and report
  const after = await info()
  await Promise.all([sink.stop(), memory.stop(), daily.stop(), secure.stop(), tlsSink.stop(), observed.stop(), redis.stop()])
  const diff = (k) => (after.calls[k] ?? 0) - (before.calls[k] ?? 0)
  const flushes = redisServer.records.filter((r) => r.msg?.startsWith('flushed ')).length
  const merges = diff('evalsha') + diff('eval')
  const clientCommands = merges + diff('pfcount')
  const bytesToRedis = after.net - before.net
  const lines = (rounds + 1) * LINES
  // Ratios within each round (measured seconds apart) cancel most of the machine's drift.
  const paired = (a, b) => summary(results[a].map((ms, i) => results[b][i] / ms)).median
  return {
    paired: {
      memoryVsRaw: paired('memory', 'raw'),
      redisVsMemory: paired('redis', 'memory'),
      sendVsRaw: paired('send', 'raw'),
      tlsVsPlain: paired('tls', 'memory'),
      tlsVsTlsRaw: paired('tls', 'tlsRaw'),
      tlsRawVsPlain: paired('tlsRaw', 'memory'),
      observedVsPlain: paired('observed', 'memory'),
      dailyVsPlain: paired('daily', 'recent'),
    },
    scrapes,
    observedMs,
    ...results,
    redisCost: {
      flushes,
      merges,
      clientCommands,
      bytesToRedis,
      lines,
      perFlush: { merges: merges / Math.max(1, flushes), bytes: bytesToRedis / Math.max(1, flushes) },
      perMillionLines: { commands: (clientCommands / lines) * 1e6, bytes: (bytesToRedis / lines) * 1e6 },
    },
  }
}

/**
 * What a user replacing the original service measures: a fresh server per round, a file sent
 * with socat, SIGTERM as soon as the sender is done, timed until the server has exited (draining,
 * the final flush and the final report included). Memory and Redis store alternate round by
 * round; their paired ratio is the Redis store's cost, shutdown included.
 */
async function shutdownRounds(file, redisPort) {
  log('lifecycle, interleaved: fresh server, send, SIGTERM, exit (memory store, Redis store)')
  const env = { memory: {}, redis: { REDIS_ADDRESS: `redis://127.0.0.1:${redisPort}` } }
  const results = { memory: [], redis: [], memoryShutdown: [], redisShutdown: [] }
  const ms = (from) => Number(process.hrtime.bigint() - from) / 1e6
  for (let round = 0; round <= LIFECYCLE_ROUNDS; round++) {
    for (const kind of ['memory', 'redis']) {
      const server = await loghourServer(env[kind])
      const started = process.hrtime.bigint()
      await socatSend(file, server.first.port)
      const sent = process.hrtime.bigint()
      const [code] = await server.stop('SIGTERM')
      if (code !== 0) throw new Error(`loghour-server (${kind} store) exited with ${code}`)
      if (round === 0) continue // warm-up
      results[kind].push(ms(started))
      results[`${kind}Shutdown`].push(ms(sent))
    }
  }
  const paired = summary(results.memory.map((m, i) => m / results.redis[i])).median
  return { ...results, redisVsMemory: paired }
}

async function baseline(script, file, redisPort, label) {
  log(`baseline: ${label}`)
  const proc = await startJsonProcess(
    process.execPath,
    [join(ROOT, 'bench/baselines', script)],
    { REDIS_PORT: String(redisPort) },
    (r) => r.port,
  )
  const runs = await repeat(label, async () => {
    const done = proc.next((r) => r.ms !== undefined)
    await socatSend(file, proc.first.port)
    return (await done).ms
  })
  await proc.stop()
  return runs
}

async function memory() {
  log('memory: peak RSS growth over the idle server, by distinct users; idle connections')
  const sizes = QUICK ? [1000, 100_000] : [1000, 1_000_000, 10_000_000]
  const rows = []
  for (const users of sizes) {
    const lines = Math.max(users, QUICK ? 200_000 : 1_000_000)
    const file = await usersFile(users, lines)
    const server = await loghourServer()
    const pid = server.child.pid
    await sleep(500)
    const idle = rssOf(pid)
    let peak = idle
    const sampler = setInterval(() => (peak = Math.max(peak, rssOf(pid))), 5)
    const done = server.next((r) => r.msg?.startsWith('connection closed'))
    await socatSend(file, server.first.port)
    await done
    clearInterval(sampler)
    peak = Math.max(peak, rssOf(pid))
    await server.stop()
    const final = server.records.find((r) => r.msg?.startsWith('Current hour'))
    rows.push({
      users,
      lines,
      bytes: statSync(file).size,
      idleRss: idle,
      peakRss: peak,
      growth: peak - idle,
      peakUsers: Math.max(...(final?.hours ?? [0])),
    })
  }
  const server = await loghourServer()
  await sleep(500)
  const before = rssOf(server.child.pid)
  const sockets = []
  for (let i = 0; i < 1000; i++) {
    const s = connect({ port: server.first.port, host: '127.0.0.1' })
    s.on('error', () => {})
    await once(s, 'connect')
    sockets.push(s)
  }
  await sleep(500)
  const after = rssOf(server.child.pid)
  for (const s of sockets) s.destroy()
  await server.stop()
  return { rows, connections: { count: 1000, before, after, perConnection: (after - before) / 1000 } }
}

// ---------------------------------------------------------------- report

function mbps(bytes, ms) {
  return bytes / MB / (ms / 1000)
}

function row(label, bytes, lines, msList, note = '') {
  const s = summary(msList)
  return {
    label,
    mbps: { min: mbps(bytes, s.max), median: mbps(bytes, s.median), max: mbps(bytes, s.min) },
    lps: (lines / s.median) * 1000,
    note,
  }
}

function fmt(n, digits = 0) {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
}

/** The first `count` lines of the data, as strings. */
function firstLines(data, count) {
  const text = data.toString('latin1')
  const lines = []
  for (let at = 0; lines.length < count && at < text.length; ) {
    const end = text.indexOf('\n', at)
    lines.push(text.slice(at, end))
    at = end + 1
  }
  return lines
}

/** The Kafka rows' rounds, over the first KAFKA_LINES lines of the data (one message each). */
async function kafkaBench(data) {
  const lines = firstLines(data, KAFKA_LINES)
  const startServer = async (args) => {
    const server = await loghourServer({}, ['--http', '127.0.0.1:0', ...args])
    const http = await server.next((r) => r.msg?.startsWith('HTTP endpoints'))
    return { http: `http://127.0.0.1:${http.http.port}`, stop: () => server.stop() }
  }
  return kafkaRounds({ lines, rounds: KAFKA_ROUNDS, freePort, startServer, startRedis, log })
}

/** The OTLP rows' rounds, over the first OTLP_LINES lines of the data. */
async function otlpBench(data) {
  const lines = firstLines(data, OTLP_LINES)
  const startServer = async (args) => {
    const server = await loghourServer({}, ['--http', '127.0.0.1:0', ...args])
    const http = await server.next((r) => r.msg?.startsWith('HTTP endpoints'))
    const grpc = await server.next((r) => r.msg?.startsWith('OTLP/gRPC logs on'))
    return { http: `http://127.0.0.1:${http.http.port}`, grpc: `http://127.0.0.1:${grpc.otlpGrpc.port}`, stop: () => server.stop() }
  }
  return otlpRounds({ lines, rounds: RUNS, startServer, log })
}

function otlpRows(o) {
  const r = (label, name) => row(label, o.bytes[name], o.records, o.runs[name])
  const per = `bodies of ${fmt(o.bodyRecords)} records, 2 in flight, → loghour-server, memory store`
  return {
    otlpNdjson: r(`OTLP's baseline: POST /ingest NDJSON, the same records (${per})`, 'ndjson'),
    otlpProto: r("OTLP/HTTP protobuf: status and client as attributes (the SDKs' shape), the same bodies", 'proto'),
    otlpJson: r('OTLP/HTTP JSON, the same records', 'json'),
    otlpGrpc: r('OTLP/gRPC (LogsService/Export, one HTTP/2 connection), the same protobuf messages', 'grpc'),
    otlpClf: r('POST /ingest of the records as Combined lines', 'clf'),
    otlpFilelog: r('OTLP/HTTP protobuf, each Combined line a string body (the Collector filelog shape)', 'filelog'),
  }
}

/** Records/s of each OTLP row relative to its /ingest baseline (medians of the ratios within each round). */
function otlpRatios(o) {
  const paired = (a, b) => summary(o.runs[a].map((ms, i) => o.runs[b][i] / ms)).median
  return {
    proto: paired('proto', 'ndjson'),
    json: paired('json', 'ndjson'),
    grpc: paired('grpc', 'ndjson'),
    filelog: paired('filelog', 'clf'),
  }
}

function kafkaRows(k) {
  const r = (label, runs) => row(label, k.bytes, k.messages, runs)
  return {
    kafkaBare: r(
      `Kafka, the raw client: kafkajs alone reading ${k.partitions} partitions, one record per message (bench/kafka-bare.mjs)`,
      k.runs.bare,
    ),
    kafkaMemory: r('Kafka: loghour-server --kafka, one server, memory store', k.runs.memory),
    kafkaRedis: r('the same, Redis store (offsets committed after each confirmed flush)', k.runs.redis),
    kafkaTwo: r(`the same, memory store, 2 servers in one group on the ${k.partitions} partitions (together)`, k.runs.two),
    kafkaThree: r('the same, 3 servers', k.runs.three),
  }
}

/** loghour against the raw client (median of the ratios within each round), and the group's curve. */
function kafkaRatios(k) {
  const paired = (a, b) => summary(a.map((ms, i) => b[i] / ms)).median
  return {
    vsBare: paired(k.runs.memory, k.runs.bare),
    redisVsBare: paired(k.runs.redis, k.runs.bare),
    scaling: [1, paired(k.runs.two, k.runs.memory), paired(k.runs.three, k.runs.memory)],
  }
}

async function main() {
  requireTool('socat', 'apt-get install -y socat')
  requireTool('openssl', 'apt-get install -y openssl')
  requireTool('redis-server', 'apt-get install -y redis-server')
  requireTool('cargo', 'install Rust (rustup)')
  if (!existsSync(join(ROOT, 'dist/loghour-server.js'))) throw new Error('run `npm run build` first')
  const m = machine()
  log(`loghour bench: ${LINES} pattern-1 lines, ${RUNS} runs after a warm-up${QUICK ? ' (quick)' : ''}`)
  const file = await demoFile(LINES)
  const bytes = statSync(file).size
  const data = readFileSync(file)
  const awaitFile = await demoFile(AWAIT_LINES)
  const awaitBytes = statSync(awaitFile).size

  const coreRows = core()
  const boundary = await nodeBoundary(data)
  const jsRuns = await plainJs(data)
  const tcp = await tcpRounds(file)
  const discard = await nodeDiscard(file)
  const redis = tcp.redisCost
  const redisForBaselines = await startRedis()
  const lifecycleFile = await demoFile(LIFECYCLE_LINES)
  const lifecycleBytes = statSync(lifecycleFile).size
  const lifecycle = await shutdownRounds(lifecycleFile, redisForBaselines.port)
  const awaitRuns = await baseline('node-await.mjs', awaitFile, redisForBaselines.port, 'Node port, one awaited PFADD per line')
  const pipelinedRuns = await baseline('node-pipelined.mjs', file, redisForBaselines.port, 'Node, PFADDs pipelined per chunk')
  await redisForBaselines.stop()
  const mem = await memory()
  const query = await weekdayQuery(90, 200)
  const middleware = await requestRounds()
  const httpIngest = await httpIngestRounds(file, bytes)
  const otlp = await otlpBench(data)
  const kafka = kafkaBenchAvailable() ? await kafkaBench(data) : undefined

  const coreScan = coreRows.find((r) => r.name.startsWith('core scan (split'))
  const memchrRow = coreRows.find((r) => r.name.startsWith('memchr'))
  const clfScan = coreRows.find((r) => r.name.startsWith('core scan, Combined lines (--format clf)'))
  const coreRow = (prefix) => coreRows.find((r) => r.name.startsWith(prefix))
  const zoned = {
    original: coreRow('core scan, --timezone'),
    clf: coreRow('core scan, Combined lines, --timezone'),
    ecs: coreRow('core scan, ECS events, --timezone'),
  }
  const ecsScan = coreRow('core scan, ECS events (')
  const auto = {
    original: coreRow('core scan, --format auto'),
    clf: coreRow('core scan, Combined lines, --format auto'),
    ecs: coreRow('core scan, ECS events, --format auto'),
  }
  const rows = {
    core: {
      label: 'core: split + validate + filter + sketch (Rust, 1 thread, 64 KiB chunks)',
      mbps: coreScan.mbps,
      lps: coreScan.lps.median,
    },
    memchr: { label: 'limit: memchr line count of the same data (Rust)', mbps: memchrRow.mbps, lps: memchrRow.lps.median },
    clf: {
      label: `core, the same requests as nginx Combined lines (--format clf, ${fmt(clfScan.bytes / coreScan.bytes, 1)} × the bytes)`,
      mbps: clfScan.mbps,
      lps: clfScan.lps.median,
    },
    clfZoned: { label: 'the same Combined lines, --timezone Europe/Berlin', mbps: zoned.clf.mbps, lps: zoned.clf.lps.median },
    ecs: {
      label: `core, the same requests as ECS events (--schema ecs; Filebeat's nginx event shape, ${fmt(ecsScan.bytes / ecsScan.lines)} bytes each)`,
      mbps: ecsScan.mbps,
      lps: ecsScan.lps.median,
    },
    ecsZoned: { label: 'the same ECS events, --timezone Europe/Berlin', mbps: zoned.ecs.mbps, lps: zoned.ecs.lps.median },
    coreZoned: { label: 'core, original layout, --timezone Europe/Berlin', mbps: zoned.original.mbps, lps: zoned.original.lps.median },
    coreAuto: {
      label: 'core, original layout, --format auto (the default; decided: original)',
      mbps: auto.original.mbps,
      lps: auto.original.lps.median,
    },
    clfAuto: { label: 'the same Combined lines, --format auto (decided: combined)', mbps: auto.clf.mbps, lps: auto.clf.lps.median },
    ecsAuto: { label: 'the same ECS events, --format auto (decided: ecs)', mbps: auto.ecs.mbps, lps: auto.ecs.lps.median },
    coreDaily: {
      label: 'core, original layout, --daily (per-day sketches too)',
      mbps: coreRow('core scan, --daily').mbps,
      lps: coreRow('core scan, --daily').lps.median,
    },
    coreUsers: {
      label: 'core, original layout, --all-users (every working-day line hashed, not only the 5xx ones)',
      mbps: coreRow('core scan, --all-users').mbps,
      lps: coreRow('core scan, --all-users').lps.median,
    },
    clfRoutes: {
      label: 'core, Combined lines to 1,000 routes (/shop/s<k>/items/<id>)',
      mbps: coreRow('core scan, Combined lines to 1,000 routes, 64').mbps,
      lps: coreRow('core scan, Combined lines to 1,000 routes, 64').lps.median,
    },
    clfGrouped: {
      label: 'the same lines, --group-by path (the 5xx users of each route and hour)',
      mbps: coreRow('core scan, Combined lines to 1,000 routes, --group-by').mbps,
      lps: coreRow('core scan, Combined lines to 1,000 routes, --group-by').lps.median,
    },
    boundary: row('core through Node: LogConsumer.write of 64 KiB Buffers', bytes, LINES, boundary),
    e2e: row('end to end: socat (64 KiB blocks) → loghour-server, memory store', bytes, LINES, tcp.memory),
    e2eSend: row('end to end: loghour send → loghour-server, memory store', bytes, LINES, tcp.send),
    e2eHttp: row(
      'end to end over HTTP: curl -T, the whole file streamed as one POST /ingest body → loghour-server, memory store',
      bytes,
      LINES,
      httpIngest,
    ),
    e2eRedis: row('end to end: socat → loghour-server, Redis store', bytes, LINES, tcp.redis),
    e2eTls: row('end to end over TLS: socat OPENSSL: → loghour-server --tls-cert, memory store', bytes, LINES, tcp.tls),
    tlsRaw: row('limit: TLS over loopback, socat OPENSSL: → socat OPENSSL-LISTEN into /dev/null', bytes, LINES, tcp.tlsRaw),
    e2eDaily: row('end to end with --daily (per-day sketches), the demo lines dated up to today', bytes, LINES, tcp.daily),
    e2eObserved: row(
      'end to end, observed: the same as plain, with /metrics scraped every 100 ms and a dashboard (/events) open',
      bytes,
      LINES,
      tcp.observed,
    ),
    lifeMemory: row(
      `with shutdown: socat → fresh loghour-server, SIGTERM when sent, until exit (${fmt(LIFECYCLE_LINES / 1e6)}M lines), memory store`,
      lifecycleBytes,
      LIFECYCLE_LINES,
      lifecycle.memory,
    ),
    lifeRedis: row('the same, Redis store', lifecycleBytes, LIFECYCLE_LINES, lifecycle.redis),
    raw: row('limit: raw loopback TCP, socat (64 KiB blocks) → Rust discard server', bytes, LINES, tcp.raw),
    discard: row("limit: raw loopback TCP into a Node discard server ('data' events)", bytes, LINES, discard),
    js: row('baseline: plain-JS indexOf extraction, no Redis (in process)', bytes, LINES, jsRuns),
    await: row('baseline (a): Node port, readline + JSON.parse + awaited PFADD per line', awaitBytes, AWAIT_LINES, awaitRuns),
    pipelined: row('baseline (b): Node, JSON.parse + PFADDs pipelined per chunk', bytes, LINES, pipelinedRuns),
    ...otlpRows(otlp),
    ...(kafka ? kafkaRows(kafka) : {}),
  }
  const e2eMed = rows.e2e.mbps.median
  const ratios = {
    coreGBps: rows.core.mbps.median / 1000,
    // The zone's cost on each format: 1 - zoned / plain, medians of the same interleaved rounds.
    // What --format auto costs after its look-ahead: 1 - auto / the explicit format, same rounds.
    autoCost: {
      original: 1 - rows.coreAuto.mbps.median / rows.core.mbps.median,
      clf: 1 - rows.clfAuto.mbps.median / rows.clf.mbps.median,
      ecs: 1 - rows.ecsAuto.mbps.median / rows.ecs.mbps.median,
    },
    zoneCost: {
      original: 1 - rows.coreZoned.mbps.median / rows.core.mbps.median,
      clf: 1 - rows.clfZoned.mbps.median / rows.clf.mbps.median,
      ecs: 1 - rows.ecsZoned.mbps.median / rows.ecs.mbps.median,
    },
    // Every user and groups: the same interleaved rounds, with the option against without it.
    usersVsPlain: rows.coreUsers.mbps.median / rows.core.mbps.median,
    groupedVsPlain: rows.clfGrouped.mbps.median / rows.clfRoutes.mbps.median,
    groupMemory: coreRows.find((r) => r.name === 'group memory'),
    e2eVsRaw: tcp.paired.memoryVsRaw,
    e2eVsAwait: e2eMed / rows.await.mbps.median,
    e2eVsPipelined: e2eMed / rows.pipelined.mbps.median,
    redisVsMemory: tcp.paired.redisVsMemory,
    tlsVsPlain: tcp.paired.tlsVsPlain,
    tlsVsTlsRaw: tcp.paired.tlsVsTlsRaw,
    tlsRawVsPlain: tcp.paired.tlsRawVsPlain,
    observedVsPlain: tcp.paired.observedVsPlain,
    dailyVsPlain: tcp.paired.dailyVsPlain,
    weekdayQueryMs: summary(query.ms).median,
    scrapes: tcp.scrapes,
    lifecycleRedisVsMemory: lifecycle.redisVsMemory,
    shutdownMs: { memory: summary(lifecycle.memoryShutdown).median, redis: summary(lifecycle.redisShutdown).median },
    memoryGrowthMax: Math.max(...mem.rows.map((r) => r.growth)),
    perConnection: mem.connections.perConnection,
    mergesPerFlush: redis.perFlush.merges,
    middlewareCpuUs: middleware.cpuUs.middleware - middleware.cpuUs.plain,
    middlewareRate: middleware.rateRatio,
    countRequestNs: middleware.countRequestNs,
    otlp: otlpRatios(otlp),
    ...(kafka ? { kafka: kafkaRatios(kafka) } : {}),
  }
  const results = {
    machine: m,
    lines: LINES,
    awaitLines: AWAIT_LINES,
    bytes,
    runs: RUNS,
    rows,
    coreRows,
    redis,
    memory: mem,
    lifecycle,
    query,
    middleware,
    kafka,
    ratios,
  }
  if (QUICK) {
    console.log(JSON.stringify(results, null, 2))
    return
  }
  writeFileSync(join(ROOT, 'bench/results.json'), `${JSON.stringify(results, null, 2)}\n`)
  writeFileSync(join(ROOT, 'bench/RESULTS.md'), report(results))
  log('wrote bench/RESULTS.md and bench/results.json')
}

function report(r) {
  const { rows, ratios, redis, memory: mem, machine: m } = r
  const tableRow = (x) =>
    `| ${x.label} | ${fmt(x.mbps.min)} / **${fmt(x.mbps.median)}** / ${fmt(x.mbps.max)} | ${fmt(x.lps / 1e6, 2)} M |${x.note ? ` ${x.note}` : ''}`
  const check = (ok) => (ok ? '✅ met' : '❌ missed')
  const MiB = 2 ** 20
  return `# loghour benchmark results

Generated by \`npm run bench\` (\`node bench/run.mjs\`) on ${m.date.slice(0, 10)}. Reproduce: \`npm ci && npm run bench\`
(needs \`redis-server\`, \`openssl\` and \`socat\`, and Java with the Kafka broker jars \`.ci/run\` copies for the Kafka rows; it builds \`crate/examples/core_bench.rs\` with cargo).

Machine: ${m.cpu}, ${m.memory} RAM, Linux ${m.kernel}; Node ${m.node}; ${m.rustc}; redis-server ${m.redis}; socat ${m.socat}.
A shared 2-vCPU virtual machine: timings drift by ±30 % over minutes (compare the memchr row across
runs to see the machine's phase), so every row is a warm-up plus ${r.runs} runs (core rows: at least 15,
TCP rows: at least 21 interleaved rounds, forward and backward in turn), reported as min / **median** / max. The end-to-end and
Redis-store ratios are medians of ratios taken within each round; the others compare medians.

Data: \`loghour gen --pattern 1\`, ${fmt(r.lines)} lines, ${fmt(r.bytes / MB, 1)} MB (baseline (a): the first ${fmt(r.awaitLines)} lines).
The core rows and the TCP rows are each measured in interleaved rounds. TCP rows are timed by the receiving server from a connection's first byte to its last line counted.

## Throughput

| what | MB/s (min / **median** / max) | lines/s (median) |
| --- | --- | --- |
${[rows.core, rows.coreAuto, rows.coreZoned, rows.coreDaily, rows.coreUsers, rows.clf, rows.clfRoutes, rows.clfGrouped, rows.clfAuto, rows.clfZoned, rows.ecs, rows.ecsAuto, rows.ecsZoned, rows.memchr, rows.boundary, rows.e2e, rows.e2eSend, rows.e2eHttp, rows.e2eTls, rows.tlsRaw, rows.e2eObserved, rows.e2eDaily, rows.e2eRedis, rows.lifeMemory, rows.lifeRedis, rows.raw, rows.discard, rows.js, rows.await, rows.pipelined, rows.otlpNdjson, rows.otlpProto, rows.otlpJson, rows.otlpGrpc, rows.otlpClf, rows.otlpFilelog, ...(r.kafka ? [rows.kafkaBare, rows.kafkaMemory, rows.kafkaRedis, rows.kafkaTwo, rows.kafkaThree] : [])].map(tableRow).join('\n')}

The "with shutdown" rows time what a user of the original service measures: from the first byte
sent to the server's exit after SIGTERM (drain, final flush, final report). SIGTERM → exit took
${fmt(ratios.shutdownMs.memory, 1)} ms with the memory store and ${fmt(ratios.shutdownMs.redis, 1)} ms with the Redis store (medians):
one round trip merges every hour, the final counts come with the next; the difference is Redis's
own \`PFMERGE\` work (about 0.4 ms per hour key on this VM). Fresh-server rounds are fast or slow as
a whole (the VM's scheduling: 150 or 300 ms for the same bytes, with either store), hence
${LIFECYCLE_ROUNDS} interleaved rounds and the median of their paired ratios; every round is in
\`results.json\` (\`lifecycle\`).

## Targets

| target | measured | |
| --- | --- | --- |
| core ≥ 2 GB/s on one core, full validation | ${fmt(ratios.coreGBps, 2)} GB/s | ${check(ratios.coreGBps >= 2)} |
| core on Combined lines ≥ 1.5 GB/s on one core | ${fmt(rows.clf.mbps.median / 1000, 2)} GB/s | ${check(rows.clf.mbps.median >= 1500)} |
| core on ECS events ≥ 1 GB/s on one core | ${fmt(rows.ecs.mbps.median / 1000, 2)} GB/s | ${check(rows.ecs.mbps.median >= 1000)} |
| \`--format auto\` (the default) costs ≤ 3 % after its look-ahead of at most 64 KiB / 200 records (original / Combined / ECS; negative: faster, noise) | ${['original', 'clf', 'ecs'].map((k) => `${fmt(ratios.autoCost[k] * 100, 1)} %`).join(' / ')} | ${check(Object.values(ratios.autoCost).every((c) => c <= 0.03))} |
| \`--timezone Europe/Berlin\` costs ≤ 10 % (original / Combined / ECS) | ${['original', 'clf', 'ecs'].map((k) => `${fmt(ratios.zoneCost[k] * 100, 1)} %`).join(' / ')} | ${check(Object.values(ratios.zoneCost).every((c) => c <= 0.1))} |
| \`--all-users\` ≥ 0.8 × without (every working-day line hashed, not only the 5xx ones) | ${fmt(ratios.usersVsPlain, 2)} × | ${check(ratios.usersVsPlain >= 0.8)} |
| \`--group-by path\` ≥ 0.7 × without (Combined lines to 1,000 routes) | ${fmt(ratios.groupedVsPlain, 2)} × | ${check(ratios.groupedVsPlain >= 0.7)} |
| \`--group-by\`: memory of the values held after those lines | ${fmt(ratios.groupMemory.values)} values (1,000 routes with 5xx users), ${fmt(ratios.groupMemory.bytes / 1024)} KiB: ${fmt(ratios.groupMemory.bytes / ratios.groupMemory.values / 1024, 1)} KiB each | |
| end to end (memory store, 64 KiB blocks) ≥ 50 % of raw loopback TCP | ${fmt(ratios.e2eVsRaw * 100)} % | ${check(ratios.e2eVsRaw >= 0.5)} |
| end to end ≥ 100 × baseline (a), per-line awaited PFADD | ${fmt(ratios.e2eVsAwait)} × | ${check(ratios.e2eVsAwait >= 100)} |
| end to end ≥ 5 × baseline (b), pipelined PFADD | ${fmt(ratios.e2eVsPipelined, 1)} × | ${check(ratios.e2eVsPipelined >= 5)} |
| TLS ingest ≥ 0.5 × plain TCP (socat OPENSSL: vs socat TCP:, same server build) | ${fmt(ratios.tlsVsPlain, 2)} × (the TLS limit itself, socat → socat: ${fmt(ratios.tlsRawVsPlain, 2)} ×; loghour reaches ${fmt(ratios.tlsVsTlsRaw * 100)} % of it) | ${check(ratios.tlsVsPlain >= 0.5)} |
| ingest while scraped every 100 ms with a dashboard open ≥ 0.95 × without (${fmt(ratios.scrapes)} scrapes in all) | ${fmt(ratios.observedVsPlain, 2)} × | ${check(ratios.observedVsPlain >= 0.95)} |
| ingest with \`--daily\` ≥ 0.9 × without (the same lines, dated up to today) | ${fmt(ratios.dailyVsPlain, 2)} × | ${check(ratios.dailyVsPlain >= 0.9)} |
| a ${r.query.days}-day × 24-hour \`--by weekday\` query against Redis < 100 ms (${fmt(r.query.keys)} keys, ${r.query.users} users each) | ${fmt(ratios.weekdayQueryMs, 1)} ms (median; \`loghour stats\` as a process: ${fmt(summary(r.query.cli).median)} ms) | ${check(ratios.weekdayQueryMs < 100)} |
| (the same query with every day key dense, as they were before issue 21) | ${fmt(summary(r.query.msDense).median, 1)} ms | |
| Redis memory per retained day, ${r.query.users} users per hour: small day-hours sent sparse, so day keys stay sparse (issue 21) | ${fmt(r.query.bytesPerDay / 1024, 1)} KiB (dense, as before: ${fmt(r.query.bytesPerDayDense / 1024)} KiB) | ${check(r.query.bytesPerDay < r.query.bytesPerDayDense / 4)} |
| Redis store ≥ 90 % of the memory store | ${fmt(ratios.redisVsMemory * 100)} % | ${check(ratios.redisVsMemory >= 0.9)} |
| the same with shutdown included (fresh server, SIGTERM, exit) | ${fmt(ratios.lifecycleRedisVsMemory * 100)} % | ${check(ratios.lifecycleRedisVsMemory >= 0.9)} |
| memory growth over idle RSS ≤ 32 MB, flat from 1k to 10M users | ${fmt(ratios.memoryGrowthMax / MB, 1)} MB at most | ${check(ratios.memoryGrowthMax <= 32 * MB)} |
| ≤ 64 KiB per idle connection | ${fmt(ratios.perConnection / 1024, 1)} KiB | ${check(ratios.perConnection <= 64 * 1024)} |
| OTLP/HTTP protobuf ≥ 0.5 × POST /ingest NDJSON of the same records (records/s) | ${fmt(ratios.otlp.proto, 2)} × (JSON ${fmt(ratios.otlp.json, 2)} ×, gRPC ${fmt(ratios.otlp.grpc, 2)} ×; filelog-shaped bodies ${fmt(ratios.otlp.filelog, 2)} × /ingest of the lines) | ${check(ratios.otlp.proto >= 0.5)} |
${
  ratios.kafka
    ? `| \`--kafka\` ≥ 0.8 × the raw client (kafkajs alone, same topic, same fetch bounds, one record per message) | ${fmt(ratios.kafka.vsBare, 2)} × (Redis store, committing: ${fmt(ratios.kafka.redisVsBare, 2)} ×) | ${check(ratios.kafka.vsBare >= 0.8)} |
| 1, 2, 3 servers in one group on ${r.kafka.partitions} partitions: records/s relative to one (2 vCPUs, the broker on them too) | ${ratios.kafka.scaling.map((x) => `${fmt(x, 2)} ×`).join(' / ')} | |
`
    : ''
}| Redis traffic independent of line rate (≤ 24 merges per flush) | ${fmt(ratios.mergesPerFlush, 1)} merges per flush | ${check(ratios.mergesPerFlush <= 24)} |

## Requests counted where they are answered (\`consumer.middleware()\`)

The same Node \`http\` app (\`bench/http-app.mjs\`: \`res.end('ok')\`, one request in ten a 500) with
and without the middleware, ${r.middleware.rounds.plain.length} interleaved rounds of ${fmt(r.middleware.requests)} keep-alive requests
(16 at a time, from the bench process on the same 2 vCPUs), medians:

| | without | with the middleware |
| --- | --- | --- |
| the app's CPU time per request | ${fmt(r.middleware.cpuUs.plain, 1)} µs | ${fmt(r.middleware.cpuUs.middleware, 1)} µs |
| requests per second | ${fmt(r.middleware.rps.plain)} | ${fmt(r.middleware.rps.middleware)} (${fmt(r.middleware.rateRatio, 2)} × without, paired) |

The middleware adds ${fmt(ratios.middlewareCpuUs, 2)} µs of CPU per request (the difference of medians; it is
within the VM's noise when it comes out negative); \`countRequest\` alone, the native call it
makes, takes ${fmt(ratios.countRequestNs)} ns (1,000,000 calls in process).

## Memory (loghour-server, memory store)

| distinct users | lines sent | idle RSS | peak RSS | growth |
| --- | --- | --- | --- | --- |
${mem.rows.map((x) => `| ${fmt(x.users)} | ${fmt(x.lines)} | ${fmt(x.idleRss / MiB, 1)} MiB | ${fmt(x.peakRss / MiB, 1)} MiB | ${fmt(x.growth / MiB, 1)} MiB |`).join('\n')}

${fmt(mem.connections.count)} idle connections: RSS ${fmt(mem.connections.before / MiB, 1)} → ${fmt(mem.connections.after / MiB, 1)} MiB,
${fmt(mem.connections.perConnection / 1024, 1)} KiB per connection.

## Redis cost (Redis store, ${fmt(redis.lines)} lines in ${redis.lines / r.lines} connections)

| | value |
| --- | --- |
| flushes that merged something | ${fmt(redis.flushes)} |
| merge scripts (EVALSHA/EVAL: EXISTS + SET + PFMERGE + DEL inside) | ${fmt(redis.merges)} |
| commands sent by loghour (merges + PFCOUNTs of the final report) | ${fmt(redis.clientCommands)} |
| bytes sent to Redis | ${fmt(redis.bytesToRedis / MB, 2)} MB |
| per flush | ${fmt(redis.perFlush.merges, 1)} merges, ${fmt(redis.perFlush.bytes / 1024)} KiB |
| per million lines | ${fmt(redis.perMillionLines.commands, 1)} commands, ${fmt(redis.perMillionLines.bytes / 1024)} KiB |

A flush sends at most 24 merges of 12,304 bytes (one per hour with new data), whatever the line rate:
the cost per million lines falls as the rate rises.

Where the time goes, what was tried, and how to profile: [PROFILE.md](PROFILE.md).
`
}

main().catch((error) => {
  console.error(`bench: ${error.stack ?? error}`)
  process.exit(1)
})
