import { createReadStream, openSync } from 'node:fs'
import { connect, type Socket } from 'node:net'

export interface SendOptions {
  host: string
  port: number
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

/** Resolves once connected; rejects with a message naming the address. */
function open(options: SendOptions): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: options.host, port: options.port })
    socket.once('connect', () => {
      socket.off('error', reject)
      resolve(socket)
    })
    socket.once('error', (error) => reject(new Error(`cannot connect to ${options.host}:${options.port}: ${error.message}`)))
  })
}

/**
 * `loghour send [FILE…]`: streams files (or stdin) to a loghour server, the original service's
 * `stdin_proxy_client`. Honours backpressure; on a terminal it shows bytes, lines and rate.
 */
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
  let lost: Error | undefined
  socket.on('error', (error) => (lost ??= error))
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
          if (lost || socket.destroyed) throw lost ?? new Error('connection closed by the server')
          bytes += chunk.length
          if (tty) lines += countLines(chunk)
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
          throw new Error(`connection to ${where} lost after ${bytes} bytes: ${(lost ?? (error as Error)).message}`)
        }
        throw new Error(`cannot read ${input.name}: ${(error as Error).message}`)
      }
    }
    // Half-close: the server counts our last line, then closes its side.
    socket.end()
    const hadError = await closed
    if (hadError || lost) throw new Error(`connection to ${where} lost after ${bytes} bytes: ${lost?.message ?? 'reset'}`)
  } finally {
    if (ticker) clearInterval(ticker)
    socket.destroy()
  }
  if (tty) {
    progress()
    process.stderr.write(`\nsent to ${where} in ${((Date.now() - started) / 1000).toFixed(2)} s\n`)
  }
}
