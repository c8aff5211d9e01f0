// `loghour/fastify`: counts every response of a Fastify app (its `onResponse` hook), with the
// client address Fastify resolved (its own `trustProxy`), and the time the response finished.
import type { LogConsumer } from './consumer.js'

/** Options of the plugin: the consumer that counts. */
export interface LoghourFastifyOptions {
  consumer: LogConsumer
}

interface FastifyLike {
  addHook(name: 'onResponse', hook: (request: { ip: string }, reply: { statusCode: number }, done: () => void) => void): unknown
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
  fastify.addHook('onResponse', (request, reply, next) => {
    consumer.countRequest(request.ip, reply.statusCode)
    next()
  })
  done()
}

// What fastify-plugin sets: the hook applies to the whole app, under this name.
Object.assign(loghourFastify, { [Symbol.for('skip-override')]: true, [Symbol.for('fastify.display-name')]: 'loghour' })

export default loghourFastify
