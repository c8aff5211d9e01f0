// Connection slots of the --http listener. Probes (/healthz, /readyz), scrapers and shippers share
// one listener, so slow or silent clients must not be able to take every slot: a connection that
// has no request in progress (still in its TLS handshake, trickling its headers, or idle between
// requests) gives its slot to a new one when all are taken, oldest first. Only requests being
// served hold a slot for sure, and those are bounded on their own (ingest bodies by a count and a
// minimum rate, event streams by a count), so a probe always finds a slot.
import type { Socket } from 'node:net'
import { tcpUnder } from './server.js'

/** Open connections at most, whatever they are doing. */
export const MAX_HTTP_CONNECTIONS = 256

/**
 * Slots only probes (`/healthz`, `/readyz`, `/metrics`) may be served in: other requests being
 * served at once are at most the rest, and beyond that answered 503 at once.
 */
export const PROBE_SLOTS = 32

/** What became of connections that were not served, for the metrics. */
export interface SlotCounters {
  /** Connections closed to make room: they had no request in progress, and were the oldest such. */
  evicted: number
  /** Connections refused because every slot was serving a request. */
  refused: number
  /** Requests answered 503 at once because the slots outside the probes' were all serving. */
  busy: number
}

interface Slot {
  /** Requests of this connection being served now (0: it may give its slot away). */
  busy: number
}

/**
 * The listener's connection slots. `admit` each accepted TCP socket; `serving` each request.
 * @example
 * const slots = new HttpSlots()
 * http.on('connection', (socket) => slots.admit(socket))
 * // in the handler: if (!slots.serving(req.socket, res, path === '/healthz')) answer 503
 */
export class HttpSlots {
  /** In the order they last became idle (or connected): the first idle one is the oldest. */
  readonly #slots = new Map<Socket, Slot>()
  readonly #counters: SlotCounters = { evicted: 0, refused: 0, busy: 0 }
  /** Requests other than probes being served now. */
  #serving = 0

  constructor(readonly capacity = MAX_HTTP_CONNECTIONS) {}

  /** Takes a slot for a new connection, closing the oldest idle one if none is free; false when refused. */
  admit(socket: Socket): boolean {
    if (this.#slots.size >= this.capacity && !this.#evictOne()) {
      this.#counters.refused++
      socket.destroy()
      return false
    }
    this.#slots.set(socket, { busy: 0 })
    socket.once('close', () => this.#slots.delete(socket))
    return true
  }

  /**
   * Marks the connection of a request busy until its response is done (sent, or cut). False
   * when it is not a probe and the slots outside the probes' are all serving: answer 503 then.
   */
  serving(socket: Socket, response: { once(event: 'close', listener: () => void): unknown }, probe: boolean): boolean {
    if (!probe && this.#serving >= this.capacity - PROBE_SLOTS) {
      this.#counters.busy++
      return false
    }
    const tcp = tcpUnder(socket) ?? socket // slots are taken by TCP sockets, requests come on TLS ones
    const slot = this.#slots.get(tcp)
    if (!probe) this.#serving++
    if (slot !== undefined) slot.busy++
    response.once('close', () => {
      if (!probe) this.#serving--
      if (slot === undefined) return
      slot.busy--
      // Idle from now: to the back of the line.
      if (slot.busy === 0 && this.#slots.delete(tcp)) this.#slots.set(tcp, slot)
    })
    return true
  }

  /** Connections open now, and what became of those that were not served. */
  counters(): SlotCounters & { open: number; serving: number } {
    return { ...this.#counters, open: this.#slots.size, serving: this.#serving }
  }

  #evictOne(): boolean {
    for (const [socket, slot] of this.#slots) {
      if (slot.busy > 0) continue
      this.#slots.delete(socket)
      this.#counters.evicted++
      socket.destroy()
      return true
    }
    return false
  }
}
