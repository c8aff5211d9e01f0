import { createReadStream, openSync } from 'node:fs'
import { connect, isIP, type Socket } from 'node:net'
import { connect as connectTls, type TLSSocket } from 'node:tls'

export interface SendOptions {
  host: string
  port: number
  /** Connect over TLS: trust `ca` (else the system's CAs), present `cert` and `key` (PEM text). */
  tls?: { ca?: string; cert?: string; key?: string }
}

/** Read size: large blocks keep loopback TCP near its limit (8 KiB blocks run at a third of it). */
const BLOCK = 1 << 20

function formatBytes(n: number): string {
  return n >= 1e9 ? `${(n / 1e9).toFixed(2)} GB` : n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : `${(n / 1e3).toFixed(1)} kB`
}

/** Counts `\n` in a chunk (for the progress line only; Buffer.indexOf runs natively). */
function countLines(chunk: Buffer): number {
  let n = 0
  for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) n++
  return n
}

const REFUSED = 'over TLS a reset means the server refused the client certificate (--cert), see its log'

/** At most this long to wait for a TLS 1.3 server to accept the client's certificate. */
const ACCEPT_WAIT_MS = 250

/**
 * Calls `ready` once a TLS 1.3 server has taken the handshake: in TLS 1.3 the client's handshake
 * is over before the server has checked its certificate, and a refusal (a reset) landing between
 * our last write and our close can be lost in Node's TLS layer, which then reports a clean close.
 * A server that accepted sends its session tickets at once; a refusing loghour-server resets
 * instead, which the caller's error handler sees. Without tickets, `ready` runs after a moment.
 */
function accepted(socket: TLSSocket, ready: () => void): void {
  if (socket.getProtocol() !== 'TLSv1.3') {
    ready()
    return
  }
  const go = () => {
    clearTimeout(timer)
    socket.off('session', go)
    if (!socket.destroyed) ready()
  }
  const timer = setTimeout(go, ACCEPT_WAIT_MS)
  socket.once('session', go)
}

/** Resolves once connected (TLS: once the server's certificate is verified); rejects naming the address. */
function open(options: SendOptions): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const { host, port, tls } = options
    // SNI takes a host name only; the certificate is checked against an IP address all the same.
    const socket = tls ? connectTls({ host, port, ...tls, ...(isIP(host) ? {} : { servername: host }) }) : connect({ host, port })
    const ready = () => {
      socket.off('error', fail)
      resolve(socket)
    }
    socket.once(tls ? 'secureConnect' : 'connect', () => (tls ? accepted(socket as TLSSocket, ready) : ready()))
    // OpenSSL's errors carry a short `reason` besides a message full of source locations.
    const fail = (error: Error & { reason?: string; code?: string }) => {
      const refused = tls && error.code === 'ECONNRESET' ? `; ${REFUSED}` : ''
      reject(new Error(`cannot connect to ${options.host}:${options.port}: ${error.reason ?? error.message}${refused}`))
    }
    socket.once('error', fail)
  })
}

/**
 * `loghour send [FILE…]`: streams files (or stdin) to a loghour server, the original service's
 * `stdin_proxy_client`. Honours backpressure; on a terminal it shows bytes, lines and rate as it
 * goes; at the end it writes one summary line (lines, bytes, seconds) on stderr.
 */
/** The code of a connection the server closed while we were still sending. */
const CLOSED = 'ECLOSED'

export async function send(files: string[], options: SendOptions): Promise<void> {
  // Every input is opened first: a missing file is an error before anything is sent.
  const inputs = (files.length > 0 ? files : ['-']).map((file) => {
    if (file === '-') return { name: 'stdin', stream: () => process.stdin as AsyncIterable<Buffer> }
    let fd: number
    try {
      fd = openSync(file, 'r')
    } catch (error) {
      throw new Error(`cannot read ${file}: ${(error as Error).message}`)
    }
    return { name: file, stream: () => createReadStream('', { fd, highWaterMark: BLOCK }) as AsyncIterable<Buffer> }
  })
  const socket = await open(options)
  const where = `${options.host}:${options.port}`
  const tty = process.stderr.isTTY === true
  const started = Date.now()
  let bytes = 0
  let lines = 0
  let unterminated = false // the last byte sent was not a newline: one more line
  let lost: Error | undefined
  socket.on('error', (error) => (lost ??= error))
  // Keep reading (the server sends nothing): a socket that does not read is no reason for Node to
  // stay alive, so after our FIN the process could exit before the server's close or reset arrived.
  socket.resume()
  // A TLS server that refuses the client certificate resets the connection once it has read it.
  const refusal = options.tls ? `; ${REFUSED}` : '; if the server serves TLS, add --tls (it resets plain connections)'
  const lostError = (error: Error | undefined) =>
    new Error(
      `connection to ${where} lost after ${bytes} bytes: ${error?.message ?? 'reset'}${['ECONNRESET', 'EPIPE', CLOSED].includes((error as NodeJS.ErrnoException | undefined)?.code ?? '') || !error ? refusal : ''}`,
    )
  const closed = new Promise<boolean>((resolve) => socket.once('close', resolve))
  const progress = () => {
    const s = (Date.now() - started) / 1000
    process.stderr.write(`\r${formatBytes(bytes)}, ${lines} lines, ${formatBytes(bytes / Math.max(s, 1e-3))}/s  `)
  }
  const ticker = tty ? setInterval(progress, 250) : undefined
  try {
    for (const input of inputs) {
      try {
        for await (const chunk of input.stream()) {
          // Closed while we still send (no reset seen: under load Node may close a failed TLS
          // socket cleanly first): refused all the same.
          if (lost || socket.destroyed) throw lost ?? Object.assign(new Error('closed by the server'), { code: CLOSED })
          bytes += chunk.length
          lines += countLines(chunk)
          unterminated = chunk.at(-1) !== 0x0a
          if (!socket.write(chunk)) {
            await new Promise<void>((resolve) => {
              const done = () => {
                socket.off('drain', done)
                socket.off('close', done)
                resolve()
              }
              socket.on('drain', done)
              socket.on('close', done)
            })
          }
        }
      } catch (error) {
        if (lost || socket.destroyed) {
          throw lostError(lost ?? (error as Error))
        }
        throw new Error(`cannot read ${input.name}: ${(error as Error).message}`)
      }
    }
    // Half-close: the server counts our last line, then closes its side.
    socket.end()
    const hadError = await closed
    if (hadError || lost) throw lostError(lost)
  } finally {
    if (ticker) clearInterval(ticker)
    socket.destroy()
  }
  // One summary line at the end, on a terminal after the progress line, and in a script's log.
  if (tty) process.stderr.write('\r\x1b[K')
  const seconds = (Date.now() - started) / 1000
  const total = lines + (unterminated ? 1 : 0)
  process.stderr.write(
    `sent ${total} line${total === 1 ? '' : 's'} (${bytes} bytes, ${formatBytes(bytes)}) to ${where} in ${seconds.toFixed(2)} s\n`,
  )
}
