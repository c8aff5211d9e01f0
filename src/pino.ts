// `loghour/pino`: a pino transport. pino runs it in a worker thread and hands it the app's log
// lines; they are counted there (pino-http's record shape by default), off the app's event loop.
// When the app exits, pino ends the transport and waits for it: the store is flushed first.
import { Writable } from 'node:stream'
import { createConsumer } from './consumer.js'
import type { ConsumerOptions } from './options.js'

/**
 * The transport: `options` are {@link createConsumer} options (`schema` defaults to
 * `'pino-http'`); they cross to the worker as JSON, so `store` is `'memory'` or a Redis URL.
 * @example
 * ```ts
 * const logger = pino(pino.transport({ target: 'loghour/pino', options: { store: { redis: 'redis://localhost:6379' } } }))
 * ```
 */
export default function loghourTransport(options: ConsumerOptions = {}): Writable {
  // pino adds its own keys to a transport's options (`$context`, `pinoWillSendConfig`).
  const own = Object.fromEntries(Object.entries(options ?? {}).filter(([key]) => !key.startsWith('$') && key !== 'pinoWillSendConfig'))
  const consumer = createConsumer({ schema: 'pino-http', ...own })
  return new Writable({
    write: (chunk: Buffer, _encoding, callback) => {
      consumer.write(chunk)
      callback()
    },
    // pino's flush(): everything so far into the store.
    final: (callback) => consumer.close().then(() => callback(), callback),
  })
}
