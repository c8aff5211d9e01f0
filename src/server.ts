import { EventEmitter } from 'node:events'
import { readdirSync, readFileSync } from 'node:fs'
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net'
import { createServer as createTlsServer, DEFAULT_CIPHERS, type TLSSocket, type TlsOptions, type Server as TlsServer } from 'node:tls'
import { type LineSink, type NativeLineStream, OPEN_NATIVE_STREAM } from './native.js'
import { type InputTls, type ListenOptions, OptionError, type ResolvedListenOptions, resolveListenOptions } from './options.js'
import { type Reading, streamReading } from './schemas.js'

/** Connection counters of a server. */
export interface ServerCounters {
  /** Open connections now. */
  active: number
  /** Connections accepted since start. */
  accepted: number
  /**
   * Connections refused: `maxConnections` was reached, or the process ran out of file
   * descriptors (EMFILE/ENFILE) or could not accept one for another reason.
   */
  refused: number
  /** Connections that ended with an error (e.g. a client reset). */
  aborted: number
  /** Bytes of unfinished lines dropped because their connection was cut (reset, idle, shutdown). */
  droppedPartialBytes: number
  /** Connections read through the shared buffer (the fast path) rather than 'data' events. */
  sharedBufferReads: number
  /** Connections closed because unfinished lines went over `maxBufferedBytes`. */
  shed: number
  /** Bytes of unfinished lines held by all open connections now. */
  bufferedBytes: number
  /** Bytes received on all connections since start. */
  receivedBytes: number
  /** TLS handshakes that failed (no or an untrusted client certificate, plain text, a timeout). */
  tlsHandshakeFailures: number
  /** Times a connection was reported for mostly unreadable lines (the `unreadable` event). */
  unreadable: number
}

/** One read buffer shared by every connection: each read is counted before the next one. */
const READ_BUFFER_BYTES = 1 << 20

/**
 * Makes `socket` read into `buffer` and hand each read to `onChunk`, the way Node's documented
 * `onread` option does for client sockets (`net.connect`), which `net.Server` does not offer for
 * accepted ones. It saves a Buffer allocation per read (and the GC work behind it): the server
 * runs about twice as fast. It relies on Node's socket internals, so it is feature-detected and
 * returns false (the caller then uses 'data' events) if they are not as expected.
 */
function readIntoSharedBuffer(socket: Socket, buffer: Buffer, onChunk: (chunk: Buffer) => void): boolean {
  const handle = (socket as unknown as { _handle?: { useUserBuffer?: (b: Buffer) => void } })._handle
  const symbols = Object.getOwnPropertySymbols(socket)
  const find = (name: string) => symbols.find((s) => s.description === name)
  const [kBuffer, kBufferCb, kBufferGen] = [find('kBuffer'), find('kBufferCb'), find('kBufferGen')]
  const fields = socket as unknown as Record<symbol, unknown>
  if (!kBuffer || !kBufferCb || !kBufferGen || typeof handle?.useUserBuffer !== 'function') return false
  if (fields[kBuffer] !== null || fields[kBufferCb] !== null || fields[kBufferGen] !== null) return false
  fields[kBuffer] = buffer
  fields[kBufferCb] = (nread: number, buf: Buffer) => {
    onChunk(buf.subarray(0, nread))
  }
  handle.useUserBuffer(buffer)
  return true
}

/** A TLS handshake must finish within this: a client that connects and stalls gives its slot back. */
const HANDSHAKE_TIMEOUT_MS = 10_000

/**
 * Node's cipher list with AES-128-GCM first (TLS 1.3's mandatory suite): as strong in practice
 * and a third cheaper than AES-256-GCM for both ends of a log stream; the others stay accepted.
 */
const PREFERRED_CIPHERS = ['TLS_AES_128_GCM_SHA256', ...DEFAULT_CIPHERS.split(':').filter((c) => c !== 'TLS_AES_128_GCM_SHA256')].join(':')

/** The secure-context part of the TLS options (what `setSecureContext` can swap). */
const secureContextOf = (tls: InputTls): TlsOptions => ({ cert: tls.cert, key: tls.key, ...(tls.ca === undefined ? {} : { ca: tls.ca }) })

/** Node's error for bad PEM material, as an option error naming `tls`. */
function tlsOptionError(error: unknown): OptionError {
  return new OptionError('tls', `loghour: invalid option "tls": ${(error as Error).message}`)
}

/**
 * The TCP socket under a server-side TLS socket (Node keeps it as `_parent`), if it is there:
 * it knows the peer after the TLS socket forgot it, and can be reset.
 */
export const tcpUnder = (socket: Socket): Socket | undefined => {
  const parent = (socket as { _parent?: unknown })._parent
  return parent instanceof Object && typeof (parent as Socket).resetAndDestroy === 'function' ? (parent as Socket) : undefined
}

/** What went wrong in a handshake, without OpenSSL's source locations. */
const handshakeProblem = (error: Error): Error => {
  const { reason, code } = error as Error & { reason?: string; code?: string }
  return Object.assign(new Error(reason ?? error.message), code === undefined ? {} : { code })
}

/** `address:port` of a socket's peer, IPv6 in brackets. */
function remoteOf(socket: Socket): string {
  const address = socket.remoteAddress ?? 'unknown'
  return `${address.includes(':') ? `[${address}]` : address}:${socket.remotePort ?? 0}`
}

/** A connection that received nothing for this long is considered drained at shutdown. */
const QUIET_MS = 200

/** File descriptors kept free for everything but connections (Redis, log and snapshot files, …). */
const FD_RESERVE = 32

/**
 * How many more files this process may open (Linux: its soft RLIMIT_NOFILE less those open and a
 * reserve), or undefined where that cannot be read. Beyond it, the kernel refuses accept() and
 * libuv drops the connection without telling Node, so such drops could not even be counted.
 */
function fileHeadroom(): number | undefined {
  try {
    const soft = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1]
    if (soft === undefined) return undefined
    return Math.max(1, Number(soft) - readdirSync('/proc/self/fd').length - FD_RESERVE)
  } catch {
    return undefined
  }
}

interface Connection {
  socket: Socket
  /** `address:port` of the client, kept: the socket forgets it once closed. */
  remote: string
  native: NativeLineStream
  lastDataAt: number
  /** High-resolution time of the first byte (0 before it), and bytes received. */
  firstByteAt: bigint
  bytes: number
  /** Bytes of its unfinished line buffered by the native splitter. */
  bufferedBytes: number
  /** Closed by the server (shed, idle, shutdown): nothing it still delivers is read. */
  cut: boolean
  /** How its records are read, once known (decided from its first records with format auto). */
  reading: Reading | undefined
  /** Its line counts when they were last looked at, and when; when it was last reported unreadable. */
  checked: { at: number; lines: number; invalid: number }
  warnedAt: number
}

/** A connection's lines are looked at for unreadable ones at most this often (and at its end). */
const CHECK_MS = 10_000
/** A connection is reported unreadable at most this often. */
const WARN_MS = 60_000

/** Which connection an event is about. */
export interface ConnectionInfo {
  /** The client's address and port, `10.0.0.7:51234` or `[::1]:51234`. */
  remote: string
}

/** What a closed connection delivered (the `connectionClosed` event). */
export interface ConnectionSummary extends ConnectionInfo {
  /** Bytes received. */
  bytes: number
  /** From its first byte to its last line counted, in milliseconds (0 if it sent nothing). */
  ms: number
  /** True when it ended with an error (a reset) rather than its client closing it. */
  aborted: boolean
}

/** A connection whose lines are mostly unreadable (the `unreadable` event). */
export interface UnreadableConnection extends ConnectionInfo {
  /** Lines (not blank) since the last look, and how many of them were invalid. */
  lines: number
  invalid: number
  /** How its records are read (with format auto, as decided), and the first record it could not read, if known. */
  reading: Reading | undefined
}

/** Events of a {@link LogServer}. */
export interface LogServerEvents {
  /** A connection's reading is known: decided from its first records (format auto), or set. */
  reading: [reading: Reading, connection: ConnectionInfo]
  /**
   * Most of a connection's lines since the last look were invalid (looked at when its reading is
   * decided, at most every 10 s while it sends, and at its end; reported at most once a minute).
   */
  unreadable: [info: UnreadableConnection]
  /** A connection closed, with what it delivered. */
  connectionClosed: [summary: ConnectionSummary]
  /** The native core failed on a connection's bytes (a bug); that connection was closed. */
  connectionError: [error: Error, connection: ConnectionInfo]
  /** A connection could not be accepted (e.g. EMFILE: out of file descriptors); it counts as refused. */
  acceptError: [error: NodeJS.ErrnoException]
  /** A TLS handshake failed (counted in `tlsHandshakeFailures`); the connection was closed. */
  tlsHandshakeFailed: [error: Error, connection: ConnectionInfo]
  /** The server stopped: every connection is closed. */
  close: []
}

/**
 * The TCP input: newline-delimited records, one native line splitter per connection, every
 * connection feeding one consumer. Content never kills a connection; one client's reset or
 * stall never affects another. With the `tls` option it serves TLS (and mutual TLS) with the
 * same guarantees.
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the interface below only types its events
export class LogServer extends EventEmitter {
  /** The options in effect, defaults applied. */
  readonly options: Readonly<ResolvedListenOptions>
  readonly #sink: LineSink
  readonly #server: Server
  /** With TLS: every accepted TCP socket, handshaking or not, so shutdown closes the stalled. */
  readonly #sockets = new Set<Socket>()
  /** With TLS: each TCP socket's peer, which a failed handshake names after the socket closed. */
  readonly #peers = new WeakMap<Socket, string>()
  readonly #connections = new Set<Connection>()
  readonly #counters: Omit<ServerCounters, 'active' | 'bufferedBytes'> = {
    accepted: 0,
    refused: 0,
    aborted: 0,
    droppedPartialBytes: 0,
    receivedBytes: 0,
    sharedBufferReads: 0,
    shed: 0,
    tlsHandshakeFailures: 0,
    unreadable: 0,
  }
  /** Unfinished-line bytes buffered for all connections. */
  #bufferedBytes = 0
  readonly #readBuffer = Buffer.allocUnsafe(READ_BUFFER_BYTES)
  #closing: Promise<void> | undefined

  /**
   * @throws {OptionError} for an unknown option, a wrong type or an out-of-range value.
   */
  constructor(sink: LineSink, options: ListenOptions = {}) {
    const resolved = resolveListenOptions(options)
    super()
    this.options = Object.freeze(resolved)
    this.#sink = sink
    this.#server = resolved.tls ? this.#tlsServer(resolved.tls) : createServer({ noDelay: true }, (socket) => this.#accept(socket))
    // Connections beyond what the open-file limit allows are refused (and counted) by Node, not
    // dropped unseen by the kernel.
    this.maxConnections = Math.min(this.options.maxConnections, fileHeadroom() ?? Number.POSITIVE_INFINITY)
    this.#server.maxConnections = this.maxConnections
    this.#server.on('drop', () => this.#counters.refused++)
  }

  /**
   * Connections accepted at most: `maxConnections`, or fewer where the process's open-file limit
   * (`ulimit -n`) leaves room for fewer.
   */
  readonly maxConnections: number

  /**
   * Starts listening; rejects if the address cannot be bound (port in use, unknown host, no
   * permission). Once listening, a connection that cannot be accepted (out of file descriptors)
   * is counted as refused and reported with the `acceptError` event; it never stops the server.
   */
  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject)
      this.#server.listen(this.options.port, this.options.host, () => {
        this.#server.off('error', reject)
        this.#server.on('error', (error) => {
          this.#counters.refused++
          this.emit('acceptError', error)
        })
        resolve()
      })
    })
  }

  #tlsServer(tls: InputTls): TlsServer {
    let server: TlsServer
    try {
      server = createTlsServer(
        {
          ...secureContextOf(tls),
          requestCert: tls.clientAuth === true,
          // Checked in #accept, which resets refused clients (see #handshakeFailed).
          rejectUnauthorized: false,
          handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
          ciphers: PREFERRED_CIPHERS,
          honorCipherOrder: true,
          noDelay: true,
          // Node would answer a client's FIN with its own before #accept sees the socket, and a
          // refused client would see that clean close before the reset (#accept ends the rest).
          allowHalfOpen: true,
        },
        (socket) => this.#accept(socket),
      )
    } catch (error) {
      throw tlsOptionError(error)
    }
    server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket)
      this.#peers.set(socket, remoteOf(socket))
      socket.once('close', () => this.#sockets.delete(socket))
    })
    server.on('tlsClientError', (error, socket) => {
      this.#handshakeFailed(handshakeProblem(error), socket)
      this.#reset(socket)
    })
    return server
  }

  /** Counts and reports a failed handshake. */
  #handshakeFailed(problem: Error, socket: Socket): void {
    const tcp = tcpUnder(socket)
    this.#counters.tlsHandshakeFailures++
    this.emit('tlsHandshakeFailed', problem, { remote: (tcp && this.#peers.get(tcp)) ?? remoteOf(socket) })
  }

  /**
   * Resets a refused client's TCP connection: Node closes it without a TLS alert, so a client
   * (plain TCP, or TLS with a refused certificate) would otherwise see a clean close and take
   * its lines for delivered.
   */
  #reset(socket: Socket): void {
    const tcp = tcpUnder(socket)
    if (tcp && !tcp.destroyed) {
      tcp.on('error', () => {}) // a reset of a socket closing meanwhile must not throw
      tcp.resetAndDestroy()
    } else socket.destroy()
  }

  /**
   * With client authentication, refuses a client whose certificate is missing or not signed by
   * the CA: nothing it sent is read, and the connection is reset at once, before a client that
   * writes right after its handshake (socat -u) is done.
   */
  #refused(socket: TLSSocket): boolean {
    if (this.options.tls?.clientAuth !== true || socket.authorized) return false
    const presented = Object.keys(socket.getPeerCertificate() ?? {}).length > 0
    const problem = presented
      ? Object.assign(new Error(`client certificate not trusted (${socket.authorizationError})`), {
          code: String(socket.authorizationError),
        })
      : Object.assign(new Error('no client certificate'), { code: 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE' })
    this.#handshakeFailed(problem, socket)
    this.#reset(socket)
    return true
  }

  /**
   * Swaps the TLS certificate, key and CA for new handshakes; open connections keep theirs and
   * are not interrupted. `clientAuth` cannot change while running.
   * @throws {OptionError} when the server has no TLS, for material Node refuses (a key that does
   * not match its certificate, bad PEM), or a changed `clientAuth`; the old material stays.
   * @example
   * server.reloadTls({ cert: readFileSync('server.pem', 'utf8'), key: readFileSync('key.pem', 'utf8') })
   */
  reloadTls(tls: InputTls): void {
    const current = this.options.tls
    if (current === undefined) throw new OptionError('tls', 'loghour: this server was started without TLS: nothing to reload')
    const next = resolveListenOptions({ tls }).tls!
    if ((next.clientAuth === true) !== (current.clientAuth === true)) {
      throw new OptionError('tls', 'loghour: invalid option "tls": clientAuth cannot change while the server runs')
    }
    try {
      ;(this.#server as TlsServer).setSecureContext(secureContextOf(next))
    } catch (error) {
      throw tlsOptionError(error)
    }
  }

  /** True while the TCP input accepts connections (false once `close()` began). */
  get listening(): boolean {
    return this.#server.listening
  }

  /** The bound address (the chosen port when listening on port 0). */
  address(): AddressInfo {
    return this.#server.address() as AddressInfo
  }

  /** Connection counters. */
  counters(): ServerCounters {
    return { ...this.#counters, active: this.#connections.size, bufferedBytes: this.#bufferedBytes }
  }

  #accept(socket: Socket): void {
    if (this.options.tls && this.#refused(socket as TLSSocket)) return
    const connection: Connection = {
      socket,
      remote: remoteOf(socket),
      native: this.#sink[OPEN_NATIVE_STREAM](undefined, true),
      lastDataAt: Date.now(),
      firstByteAt: 0n,
      bytes: 0,
      bufferedBytes: 0,
      cut: false,
      reading: undefined,
      checked: { at: Date.now(), lines: 0, invalid: 0 },
      warnedAt: Number.NEGATIVE_INFINITY,
    }
    let aborted = false
    let finishedAt = 0n
    this.#connections.add(connection)
    this.#counters.accepted++
    if (this.options.idleTimeoutMs > 0) {
      socket.setTimeout(this.options.idleTimeoutMs, () => this.#cut(connection))
    }
    const onChunk = (chunk: Buffer) => {
      if (connection.cut) return
      connection.lastDataAt = Date.now()
      if (connection.bytes === 0) connection.firstByteAt = process.hrtime.bigint()
      connection.bytes += chunk.length
      this.#counters.receivedBytes += chunk.length
      let buffered: number
      try {
        buffered = connection.native.write(chunk)
      } catch (error) {
        // Only a bug in the core can land here: drop this connection, keep the server.
        this.emit('connectionError', error as Error, { remote: connection.remote })
        this.#cut(connection)
        return
      }
      this.#hold(connection, buffered)
      if (connection.reading === undefined) this.#learnReading(connection)
      // Also while undecided: a stream nothing could read yet keeps looking, and counts meanwhile.
      if (connection.lastDataAt - connection.checked.at >= CHECK_MS) this.#check(connection)
      const budget = this.options.maxBufferedBytes
      if (budget > 0 && this.#bufferedBytes > budget) this.#shed(budget)
    }
    // A TLS socket's handle (TLSWrap) takes a user buffer too: decrypted records land in it.
    if (!this.options.portableReads && readIntoSharedBuffer(socket, this.#readBuffer, onChunk)) this.#counters.sharedBufferReads++
    socket.on('data', onChunk) // the portable path (never fires while the shared buffer is in use)
    socket.on('end', () => {
      // The client finished sending: its last line counts even without a final newline.
      connection.native.end()
      this.#hold(connection, 0)
      if (connection.reading === undefined) this.#learnReading(connection)
      else this.#check(connection)
      finishedAt = process.hrtime.bigint()
      socket.end()
    })
    socket.on('error', () => {
      aborted = true
      this.#counters.aborted++
    })
    socket.on('close', () => {
      this.#counters.droppedPartialBytes += connection.bufferedBytes
      this.#hold(connection, 0)
      connection.native.discard() // free its partial line now, not when the GC gets to it
      this.#connections.delete(connection)
      const end = finishedAt || process.hrtime.bigint()
      const ms = connection.bytes === 0 ? 0 : Number(end - connection.firstByteAt) / 1e6
      const summary: ConnectionSummary = { remote: connection.remote, bytes: connection.bytes, ms, aborted }
      this.emit('connectionClosed', summary)
    })
  }

  /** Reports a connection's reading once it is known, and looks at its first lines. */
  #learnReading(connection: Connection): void {
    connection.reading = streamReading(connection.native, this.#sink.options)
    if (connection.reading === undefined) return
    this.emit('reading', connection.reading, { remote: connection.remote })
    this.#check(connection)
  }

  /** Reports the connection when most of its lines since the last look were invalid. */
  #check(connection: Connection): void {
    const counts = connection.native.lineCounts()
    if (counts == null) return
    const lines = counts.total
    const invalid = counts.total - counts.counted - counts.skipped
    const now = Date.now()
    const since = { lines: lines - connection.checked.lines, invalid: invalid - connection.checked.invalid }
    connection.checked = { at: now, lines, invalid }
    if (since.lines === 0 || since.invalid * 2 <= since.lines || now - connection.warnedAt < WARN_MS) return
    connection.warnedAt = now
    this.#counters.unreadable++
    this.emit('unreadable', { remote: connection.remote, ...since, reading: connection.reading })
  }

  /** Records what a connection now buffers of an unfinished line. */
  #hold(connection: Connection, bufferedBytes: number): void {
    this.#bufferedBytes += bufferedBytes - connection.bufferedBytes
    connection.bufferedBytes = bufferedBytes
  }

  /**
   * Brings the unfinished lines back within `budget` by closing the connections holding the
   * largest ones first. Runs only when the budget is exceeded, so its sort costs nothing on the
   * normal path; each run closes at least one connection.
   */
  #shed(budget: number): void {
    const heaviest = [...this.#connections].filter((c) => c.bufferedBytes > 0).sort((a, b) => b.bufferedBytes - a.bufferedBytes)
    for (const connection of heaviest) {
      if (this.#bufferedBytes <= budget) break
      this.#counters.shed++
      this.#cut(connection)
    }
  }

  /** Closes a connection that did not end by itself; its unfinished line is dropped at once. */
  #cut(connection: Connection): void {
    if (connection.cut) return
    connection.cut = true
    this.#counters.droppedPartialBytes += connection.bufferedBytes
    this.#hold(connection, 0)
    connection.native.discard()
    connection.socket.destroy()
  }

  /**
   * Resolves when `connection` has closed: by its client (at once, no polling), or cut once it
   * has been quiet for a moment or the deadline passes.
   */
  #drain(connection: Connection, deadline: number): Promise<void> {
    return new Promise((resolve) => {
      if (connection.socket.closed) return resolve()
      let timer: NodeJS.Timeout | undefined
      const check = () => {
        const now = Date.now()
        if (now >= deadline || now - connection.lastDataAt >= QUIET_MS) return this.#cut(connection)
        timer = setTimeout(check, Math.min(deadline, connection.lastDataAt + QUIET_MS) - now)
      }
      connection.socket.once('close', () => {
        clearTimeout(timer)
        resolve()
      })
      check()
    })
  }

  /**
   * Stops accepting, lets every connection deliver what it already sent (until its client
   * closes it, it goes quiet, or `drainTimeoutMs` passes), then closes them.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()))
      const deadline = Date.now() + this.options.drainTimeoutMs
      await Promise.all([...this.#connections].map((c) => this.#drain(c, deadline)))
      for (const socket of this.#sockets) socket.destroy() // still handshaking: nothing was read from them
      await closed
      this.emit('close')
    })()
    return this.#closing
  }
}

// Typed events, the ioredis way: declaration merging over the EventEmitter's untyped ones.
export interface LogServer {
  on<E extends keyof LogServerEvents>(event: E, listener: (...args: LogServerEvents[E]) => void): this
  once<E extends keyof LogServerEvents>(event: E, listener: (...args: LogServerEvents[E]) => void): this
  emit<E extends keyof LogServerEvents>(event: E, ...args: LogServerEvents[E]): boolean
}
