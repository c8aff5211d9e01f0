// Starts a private redis-server for a test: free port, temp dir, no persistence unless asked.
// Tests that need Redis skip when redis-server is missing, unless LOGHOUR_REQUIRE_ALL=1 (CI).
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { afterAll, beforeAll } from 'vitest'
import { INVALID_REASONS } from '../../src/index.js'
import { readHourCounts } from '../../src/stores/redis.js'
import { modelStream } from './model.js'
import type { Certificate } from './tls.js'

export const redisAvailable = spawnSync('redis-server', ['--version']).status === 0

/** `describe.skipIf` condition: skip only when allowed (no binary and not required). */
export function skipRedis(): boolean {
  if (redisAvailable) return false
  if (process.env.LOGHOUR_REQUIRE_ALL === '1') {
    throw new Error('LOGHOUR_REQUIRE_ALL=1 but redis-server is not installed')
  }
  return true
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

export interface RedisServer {
  port: number
  url: string
  dir: string
  process: ChildProcess
  /** A new client (closed by `stop`). */
  client(): Redis
  /** Stops the server (SIGTERM, then SIGKILL) and removes its directory. */
  stop(): Promise<void>
  /**
   * Kills the server abruptly (SIGKILL; unless it was killed already) and starts it again on the
   * same port and directory, after `downMs` (the time callers see it down).
   */
  restart(downMs?: number): Promise<void>
}

export interface StartOptions {
  /** Extra `redis-server` arguments, e.g. `['--appendonly', 'yes']`. */
  args?: string[]
  /** Highest port to use (a cluster node's bus listens on its port + 10000). */
  maxPort?: number
  /** Serve TLS only, with this certificate (the URL is then `rediss://`). */
  tls?: Certificate
  /** With `tls`: clients must present a certificate signed by it (`tls-auth-clients yes`); the helper's own clients present it. */
  clientAuth?: boolean
  /** A password for the default user (`requirepass`); the URL carries it. */
  password?: string
}

async function waitForPing(port: number, child: ChildProcess, options: StartOptions = {}): Promise<void> {
  const deadline = Date.now() + 10_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`)
    const probe = new Redis({
      port,
      host: '127.0.0.1',
      lazyConnect: true,
      retryStrategy: () => null,
      maxRetriesPerRequest: 0,
      password: options.password,
      tls: clientTls(options),
    })
    probe.on('error', () => {})
    try {
      await probe.connect()
      if ((await probe.ping()) === 'PONG') return
    } catch {
      // not up yet
    } finally {
      probe.disconnect()
    }
    if (Date.now() > deadline) throw new Error('redis-server did not answer PING within 10 s')
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** The TLS options of the helper's own clients. */
function clientTls(options: StartOptions) {
  if (!options.tls) return undefined
  const identity = options.clientAuth ? { cert: options.tls.cert, key: readFileSync(options.tls.keyFile, 'utf8') } : {}
  return { ca: options.tls.cert, servername: 'localhost', ...identity }
}

function launch(port: number, dir: string, args: string[], options: StartOptions = {}): ChildProcess {
  const listen = options.tls
    ? [
        '--port',
        '0',
        '--tls-port',
        String(port),
        '--tls-cert-file',
        options.tls.certFile,
        '--tls-key-file',
        options.tls.keyFile,
        ...(options.clientAuth ? ['--tls-auth-clients', 'yes', '--tls-ca-cert-file', options.tls.certFile] : ['--tls-auth-clients', 'no']),
      ]
    : ['--port', String(port)]
  const auth = options.password === undefined ? [] : ['--requirepass', options.password]
  const child = spawn(
    'redis-server',
    [...listen, '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', ...auth, ...args],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  )
  return child
}

/** Starts redis-server; retries on another port if the chosen one was taken meanwhile. */
export async function startRedis(options: StartOptions = {}): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'loghour-redis-'))
  const args = options.args ?? []
  const clients: Redis[] = []
  for (let attempt = 0; ; attempt++) {
    let port = await freePort()
    while (port > (options.maxPort ?? 65535)) port = await freePort()
    let child = launch(port, dir, args, options)
    try {
      await waitForPing(port, child, options)
    } catch (error) {
      child.kill('SIGKILL')
      if (attempt < 5) continue
      throw error
    }
    const server: RedisServer = {
      port,
      url: `${options.tls ? 'rediss' : 'redis'}://${options.password === undefined ? '' : `:${encodeURIComponent(options.password)}@`}127.0.0.1:${port}`,
      dir,
      process: child,
      client() {
        const c = new Redis({
          port,
          host: '127.0.0.1',
          password: options.password,
          tls: clientTls(options),
        })
        c.on('error', () => {})
        clients.push(c)
        return c
      },
      async stop() {
        for (const c of clients) c.disconnect()
        if (child.exitCode === null && child.signalCode === null) {
          const exited = new Promise((r) => child.once('exit', r))
          child.kill('SIGCONT')
          child.kill('SIGTERM')
          const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
          await exited
          clearTimeout(timer)
        }
        rmSync(dir, { recursive: true, force: true })
      },
      async restart(downMs = 0) {
        // A server a test already killed is only started again.
        if (child.exitCode === null && child.signalCode === null) {
          const exited = new Promise((r) => child.once('exit', r))
          child.kill('SIGKILL')
          await exited
        }
        await new Promise((r) => setTimeout(r, downMs))
        child = launch(port, dir, args, options)
        server.process = child
        await waitForPing(port, child, options)
      },
    }
    return server
  }
}

/**
 * One redis-server for every test of the calling `describe`: started before them, stopped after.
 * The object returned stands for it inside the tests.
 */
export function useRedis(options: StartOptions = {}): RedisServer {
  let redis: RedisServer | undefined
  beforeAll(async () => {
    redis = await startRedis(options)
  })
  afterAll(async () => {
    await redis?.stop()
  })
  const started = (): RedisServer => {
    if (!redis) throw new Error('redis-server is not started (use it inside a test)')
    return redis
  }
  return new Proxy({} as RedisServer, { get: (_, key) => Reflect.get(started(), key) })
}

export interface RedisClusterServers {
  /** The first masters' ports (`size` of them); every slot is served by one of them at start. */
  ports: number[]
  /** Every node, masters first, then their replicas. */
  nodes: RedisServer[]
  stop(): Promise<void>
}

/**
 * Starts a real Redis Cluster of `size` masters with `replicas` replicas each, each on a free
 * port, and waits until every node reports `cluster_state:ok` (and every replica is in sync).
 */
export async function startRedisCluster(
  size = 3,
  replicas = 0,
  nodeTimeoutMs = 2000,
  secure: Pick<StartOptions, 'tls' | 'password'> = {},
): Promise<RedisClusterServers> {
  // With TLS the cluster bus and replication speak TLS too, trusting the same certificate.
  const tlsArgs = secure.tls ? ['--tls-cluster', 'yes', '--tls-replication', 'yes', '--tls-ca-cert-file', secure.tls.certFile] : []
  const authArgs = secure.password === undefined ? [] : ['--masterauth', secure.password]
  const nodes = await Promise.all(
    Array.from({ length: size * (1 + replicas) }, () =>
      startRedis({
        ...secure,
        args: ['--cluster-enabled', 'yes', '--cluster-node-timeout', String(nodeTimeoutMs), ...tlsArgs, ...authArgs],
        maxPort: 65535 - 10000,
      }),
    ),
  )
  const stop = () => Promise.all(nodes.map((n) => n.stop())).then(() => {})
  try {
    const ports = nodes.map((n) => n.port)
    const create = spawnSync(
      'redis-cli',
      [
        ...(secure.tls ? ['--tls', '--cacert', secure.tls.certFile] : []),
        ...(secure.password === undefined ? [] : ['-a', secure.password, '--no-auth-warning']),
        '--cluster',
        'create',
        ...ports.map((p) => `127.0.0.1:${p}`),
        '--cluster-replicas',
        String(replicas),
        '--cluster-yes',
      ],
      { encoding: 'utf8', timeout: 30_000 },
    )
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stdout}${create.stderr}`)
    const deadline = Date.now() + 20_000
    for (const node of nodes) {
      const client = node.client()
      while (!/cluster_state:ok/.test(await client.cluster('INFO'))) {
        if (Date.now() > deadline) throw new Error('the cluster did not reach cluster_state:ok within 20 s')
        await new Promise((r) => setTimeout(r, 100))
      }
      const replication = await client.info('replication')
      while (/role:slave/.test(await client.info('replication')) && !/master_link_status:up/.test(await client.info('replication'))) {
        if (Date.now() > deadline) throw new Error(`a replica did not sync within 20 s: ${replication}`)
        await new Promise((r) => setTimeout(r, 100))
      }
    }
    // Every node's map lists each master's replicas (gossip spreads them): a client may ask any.
    for (const node of nodes) {
      const complete = async () =>
        ((await node.client().cluster('SLOTS')) as unknown[][]).every((range) => range.length - 2 >= 1 + replicas)
      while (!(await complete())) {
        if (Date.now() > deadline) throw new Error('the nodes did not learn every replica within 20 s')
        await new Promise((r) => setTimeout(r, 100))
      }
    }
    // redis-cli makes the first `size` nodes given the masters.
    const masters: RedisServer[] = []
    for (const node of nodes) if (/role:master/.test(await node.client().info('replication'))) masters.push(node)
    const ordered = [...masters, ...nodes.filter((n) => !masters.includes(n))]
    return { ports: masters.map((n) => n.port), nodes: ordered, stop }
  } catch (error) {
    await stop()
    throw error
  }
}

/** PFADDs the model's counted elements of `stream` into `<prefix><H>`. */
export async function pfaddReference(redis: RedisServer, stream: Buffer, prefix: string): Promise<void> {
  const client = redis.client()
  const model = modelStream(stream, 65536, INVALID_REASONS)
  const byHour = new Map<number, Buffer[]>()
  for (const { hour, element } of model.counted) byHour.set(hour, [...(byHour.get(hour) ?? []), element])
  for (const [hour, elements] of byHour) {
    for (let i = 0; i < elements.length; i += 5000) await client.pfadd(`${prefix}${hour}`, ...elements.slice(i, i + 5000))
  }
}

/** `PFCOUNT` of the 24 hour keys `<prefix>0` … `<prefix>23` (each followed by `suffix`: `{p9}:group:/a`). */
export async function pfcounts(redis: RedisServer, prefix: string, suffix = ''): Promise<number[]> {
  const client = redis.client()
  if (suffix === '') return readHourCounts(client, prefix)
  return Promise.all(Array.from({ length: 24 }, (_, h) => client.pfcount(`${prefix}${h}${suffix}`)))
}

/** The `ACL SETUSER loghour …` line of docs/redis.md ("Redis permissions"), as its rules. */
export function readmeAclRules(): string[] {
  const doc = readFileSync(join(__dirname, '../../docs/redis.md'), 'utf8')
  const line = /^ACL SETUSER loghour on >password (.+)$/m.exec(doc)
  if (!line) throw new Error('docs/redis.md: no "ACL SETUSER loghour on >password …" line')
  return line[1]!.trim().split(/\s+/)
}

/** The rules docs/redis.md adds for `--all-users` and `--group-by` (its `ACL SETUSER loghour ~user_hour_* …` line). */
export function readmeShareAclRules(): string[] {
  const doc = readFileSync(join(__dirname, '../../docs/redis.md'), 'utf8')
  const line = /^ACL SETUSER loghour (~user_hour_.+)$/m.exec(doc)
  if (!line) throw new Error('docs/redis.md: no "ACL SETUSER loghour ~user_hour_* …" line')
  return line[1]!.trim().split(/\s+/)
}
