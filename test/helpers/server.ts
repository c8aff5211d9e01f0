// Runs the built loghour-server as a child process, as users do, and talks to it over TCP.
import { type ChildProcess, spawn } from 'node:child_process'
import { EventEmitter } from 'node:events'
import { readFileSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { connect as connectTls } from 'node:tls'
import { onTestFinished } from 'vitest'
import { bin } from './cli.js'

export interface LogRecord {
  level: number
  msg: string
  [key: string]: unknown
}

export interface ServerProcess {
  port: number
  child: ChildProcess
  logs: LogRecord[]
  /** Everything it wrote to stderr. */
  stderr(): string
  /** Sends a signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>
  /** Resident set size now, in bytes (Linux /proc). */
  rss(): number
  /** The `hours` of the last stats report logged. */
  lastHours(): number[] | undefined
  /**
   * Resolves with the first log record from index `from` on (default: the next one logged) that
   * `match` accepts, as soon as it is logged; rejects if the server exits first.
   */
  waitForLog(match: (record: LogRecord) => boolean, from?: number): Promise<LogRecord>
}

/** True for a record whose message starts with `prefix`. */
export const message = (prefix: string) => (record: LogRecord) => record.msg.startsWith(prefix)

/** Environment without the server's own variables, so the tests control every setting. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env }
  for (const key of Object.keys(env)) {
    if (/^(SERVER_|REDIS_|LOG_|LOGHOUR_)/.test(key)) delete env[key]
  }
  return { ...env, ...extra }
}

export interface StartServerOptions {
  cwd?: string
  /** Run under this open-file limit (`ulimit -n`). */
  openFiles?: number
  /** Options for node itself, e.g. `['--require', fixture]`. */
  nodeArgs?: string[]
}

/**
 * Starts loghour-server on a port it picks itself (`--port 0`, read back from its listening
 * line, unless args say otherwise) and waits until it listens. When called in a test, the server
 * is killed when the test ends, also when it fails.
 */
export function startServer(
  args: string[] = [],
  env: Record<string, string> = {},
  options: StartServerOptions = {},
): Promise<ServerProcess> {
  const argv = [...(options.nodeArgs ?? []), bin('loghour-server.js'), '--port', '0', ...args]
  const [command, commandArgs] =
    options.openFiles === undefined
      ? [process.execPath, argv]
      : ['/bin/sh', ['-c', `ulimit -n ${options.openFiles} && exec "$0" "$@"`, process.execPath, ...argv]]
  const child = spawn(command, commandArgs, {
    env: cleanEnv(env),
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const logs: LogRecord[] = []
  const logged = new EventEmitter()
  let stderr = ''
  let buffered = ''
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  try {
    onTestFinished(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    })
  } catch {
    // Not inside a test (a hook): the caller stops it.
  }
  const waitForLog = (match: (record: LogRecord) => boolean, from = logs.length): Promise<LogRecord> =>
    new Promise((resolve, reject) => {
      const found = logs.slice(from).find(match)
      if (found) return resolve(found)
      const onRecord = (record: LogRecord) => {
        if (!match(record)) return
        logged.off('record', onRecord)
        resolve(record)
      }
      logged.on('record', onRecord)
      void exited.then((code) => {
        logged.off('record', onRecord)
        reject(new Error(`loghour-server exited (${code}) while a test waited for a log line`))
      })
    })
  return new Promise((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()))
    child.stdout!.on('data', (d: Buffer) => {
      buffered += d.toString()
      const lines = buffered.split('\n')
      buffered = lines.pop()!
      for (const line of lines) {
        if (!line.trim()) continue
        const record = JSON.parse(line) as LogRecord
        logs.push(record)
        logged.emit('record', record)
        if (record.msg.startsWith('loghour-server listening')) {
          resolve({
            port: record.port as number,
            child,
            logs,
            stderr: () => stderr,
            stop: (signal = 'SIGTERM') => {
              child.kill(signal)
              return exited
            },
            rss: () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))![1]) * 1024,
            lastHours: () => [...logs].reverse().find((r) => Array.isArray(r.hours))?.hours as number[] | undefined,
            waitForLog,
          })
        }
      }
    })
    void exited.then((code) => reject(new Error(`loghour-server exited (${code}) before listening: ${stderr}`)))
  })
}

/**
 * How a test's clients reach the server: plain TCP, or TLS with the server flags that go with
 * it. A test written against a transport proves its guarantees hold on both.
 */
export interface Transport {
  readonly name: string
  /** Flags that make loghour-server serve this transport. */
  readonly serverArgs: string[]
  /** TLS clients: the CA to trust and the client certificate to present (PEM). */
  readonly tls?: { ca: string; cert?: string; key?: string }
}

export const PLAIN_TCP: Transport = { name: 'plain TCP', serverArgs: [] }

/** The TCP socket under a TLS client socket (to reset it, or read its port). */
const tcpOf = new WeakMap<Socket, Socket>()

/** The TCP socket a connection runs on (itself for plain TCP). */
export const tcpSocket = (socket: Socket): Socket => tcpOf.get(socket) ?? socket

/**
 * Connects to a local port. With TLS it resolves once the handshake is done, or, with
 * `handshake: false`, as soon as TCP connects (writes wait for the handshake; a refused
 * connection then closes like a plain one).
 */
export function open(port: number, transport: Transport = PLAIN_TCP, { handshake = true } = {}): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const tcp = connect({ port, host: '127.0.0.1' })
    if (!transport.tls) {
      tcp.once('connect', () => resolve(tcp))
      tcp.once('error', reject)
      return
    }
    const socket = connectTls({ socket: tcp, servername: 'localhost', ...transport.tls })
    tcpOf.set(socket, tcp)
    if (handshake) socket.once('secureConnect', () => resolve(socket))
    else tcp.once('connect', () => resolve(socket))
    socket.once('error', reject)
  })
}

/**
 * Sends `data` over a new connection in pieces of the given sizes (cycled), honouring
 * backpressure, then half-closes and waits until the server closes too.
 */
export async function sendTcp(port: number, data: Buffer, sizes: number[] = [65536], transport = PLAIN_TCP): Promise<void> {
  const socket = await open(port, transport)
  const closed = new Promise<void>((resolve, reject) => {
    socket.on('close', (hadError) => (hadError ? reject(new Error('connection failed')) : resolve()))
    socket.on('error', reject)
  })
  let offset = 0
  for (let i = 0; offset < data.length; i++) {
    const size = sizes[i % sizes.length]!
    if (!socket.write(data.subarray(offset, offset + size))) await new Promise((r) => socket.once('drain', r))
    offset += size
  }
  socket.end()
  socket.resume()
  await closed
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Polls `check` until it returns true or `ms` pass. */
export async function eventually(check: () => boolean | Promise<boolean>, ms = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(25)
  }
}

/** `http://127.0.0.1:<port>` of a server started with `--http 127.0.0.1:0`. */
export async function httpBase(server: ServerProcess): Promise<string> {
  const { port } = (await server.waitForLog(message('HTTP endpoints'), 0)).http as { port: number }
  return `http://127.0.0.1:${port}`
}
