// `loghour/fastify`: counts every response of a Fastify app (its `onResponse` hook), with the
// client address Fastify resolved (its own `trustProxy`), and the time the response finished.
import type { LogConsumer } from './consumer.js'
import { groupOf } from './middleware.js'

/** Options of the plugin: the consumer that counts. */
export interface LoghourFastifyOptions {
  consumer: LogConsumer
}

/** What the hook reads of Fastify's request: the client, and for `groupBy` the matched route. */
interface FastifyRequestLike {
  ip: string
  method: string
  url: string
  headers: Record<string, unknown>
  routeOptions?: { url?: unknown }
}

interface FastifyLike {
  addHook(name: 'onResponse', hook: (request: FastifyRequestLike, reply: { statusCode: number }, done: () => void) => void): unknown
}

/** The request's value of `groupBy`: `route` is the route Fastify matched (`/users/:id`). */
function fastifyGroup(request: FastifyRequestLike, groupBy: string): string | undefined {
  const route = typeof request.routeOptions?.url === 'string' ? request.routeOptions.url : undefined
  const host = typeof request.headers.host === 'string' ? request.headers.host : undefined
  return groupOf({ route, url: request.url, method: request.method, host }, groupBy)
}

/**
 * The Fastify plugin. Registered at the root, it sees every route (it is not encapsulated).
 * @example
 * ```ts
 * import loghour from 'loghour/fastify'
 * app.register(loghour, { consumer: createConsumer({ store: { redis: process.env.REDIS_URL } }) })
 * ```
 */
function loghourFastify(fastify: FastifyLike, options: LoghourFastifyOptions, done: (error?: Error) => void): void {
  const consumer = options?.consumer
  if (consumer === undefined || typeof consumer.countRequest !== 'function') {
    done(new TypeError('loghour/fastify: pass { consumer } (a LogConsumer from createConsumer)'))
    return
  }
  const groupBy = consumer.options.groupBy
  fastify.addHook('onResponse', (request, reply, next) => {
    consumer.countRequest(request.ip, reply.statusCode, Date.now(), groupBy === undefined ? undefined : fastifyGroup(request, groupBy))
    next()
  })
  done()
}

// What fastify-plugin sets: the hook applies to the whole app, under this name.
Object.assign(loghourFastify, { [Symbol.for('skip-override')]: true, [Symbol.for('fastify.display-name')]: 'loghour' })

export default loghourFastify
