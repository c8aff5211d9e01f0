// Counting requests where they are answered: no log line is formatted or parsed. Each finished
// response gives the core its time, client address and status (NativeSketchSet.countRequest),
// under the consumer's own rule (working-day 5xx, --timezone), so the counts equal those of the
// same requests' log lines.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { OptionError } from './options.js'

/** Options of {@link LogConsumer.middleware}. */
export interface MiddlewareOptions {
  /**
   * Where the client address comes from. `false` (default): the connection's peer. `true`: the
   * left-most `X-Forwarded-For` address (every proxy trusted). A number `n`: `n` proxies of your
   * own in front; the address is the one the outermost of them saw (the `n`-th from the right).
   */
  trustProxy?: boolean | number
}

/** A handler for Node `http`, Express and Connect: `(req, res, next)`, `next` optional. */
export type RequestCounter = (req: IncomingMessage, res: ServerResponse, next?: (error?: unknown) => void) => void

/** An address as a log would write it: IPv4-mapped IPv6 (`::ffff:10.0.0.1`) as plain IPv4. */
export function plainAddress(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address
}

/** The client of a request under a `trustProxy` setting. */
export function clientAddress(req: IncomingMessage, trustProxy: boolean | number): string {
  const peer = plainAddress(req.socket?.remoteAddress ?? '')
  if (trustProxy === false || trustProxy === 0) return peer
  const header = req.headers['x-forwarded-for']
  const hops = (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .map((hop) => hop.trim())
    .filter((hop) => hop.length > 0)
  if (hops.length === 0) return peer
  // The chain as the last proxy saw it: the forwarded hops, then that proxy's own peer.
  const chain = [...hops, peer]
  const index = trustProxy === true ? 0 : Math.max(0, chain.length - 1 - trustProxy)
  return plainAddress(chain[index]!)
}

/** What Express and Connect add to a request: the matched route and the mount path. */
type RoutedRequest = IncomingMessage & { route?: { path?: unknown }; baseUrl?: unknown; originalUrl?: unknown }

/** What a finished request gives its group: the route the framework matched (if any), URL, method, Host. */
export interface RequestParts {
  route: string | undefined
  url: string | undefined
  method: string | undefined
  host: string | undefined
}

/**
 * A request's value of the consumer's `groupBy`: `route`, the route pattern the framework matched
 * (else the URL, grouped as its route by the core); `path`, the URL; `method`; `host`, the Host
 * header; any other field has no value here.
 * @example
 * groupOf({ route: '/users/:id', url: '/users/42', method: 'GET', host: 'shop' }, 'route') // '/users/:id'
 */
export function groupOf(parts: RequestParts, groupBy: string): string | undefined {
  switch (groupBy) {
    case 'route':
      return parts.route ?? parts.url
    case 'path':
      return parts.url
    case 'method':
      return parts.method
    case 'host':
      return parts.host
    default:
      return undefined
  }
}

/** A Node, Express or Connect request's group: Express's matched route is its `baseUrl` + `route.path`. */
export function requestGroup(req: RoutedRequest, groupBy: string): string | undefined {
  const pattern = req.route?.path
  const route = typeof pattern === 'string' ? `${typeof req.baseUrl === 'string' ? req.baseUrl : ''}${pattern}` : undefined
  const url = typeof req.originalUrl === 'string' ? req.originalUrl : req.url
  return groupOf({ route, url, method: req.method, host: req.headers.host }, groupBy)
}

/** Checks {@link MiddlewareOptions}; an OptionError names what is wrong. */
export function resolveMiddlewareOptions(options: unknown): { trustProxy: boolean | number } {
  if (options === undefined || options === null) return { trustProxy: false }
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw new OptionError('middleware', 'loghour: middleware options must be an object')
  }
  for (const key of Object.keys(options)) {
    if (key !== 'trustProxy') throw new OptionError(key, `loghour: unknown middleware option "${key}"; known: trustProxy`)
  }
  const trustProxy = (options as MiddlewareOptions).trustProxy ?? false
  if (typeof trustProxy !== 'boolean' && !(Number.isInteger(trustProxy) && trustProxy >= 0 && trustProxy <= 64)) {
    throw new OptionError('trustProxy', `loghour: invalid option "trustProxy": expected true, false or a number of proxies from 0 to 64`)
  }
  return { trustProxy }
}
