// A minimal Node http app for `npm run bench`: answers every request (one in ten a 500), with
// loghour's request middleware when argv[2] is `middleware`. Prints {"port":…} when listening.

import http from 'node:http'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const require = createRequire(import.meta.url)
const { createConsumer } = require(join(dirname(fileURLToPath(import.meta.url)), '..', 'dist/index.js'))
const count = process.argv[2] === 'middleware' ? createConsumer().middleware() : undefined
let n = 0
const server = http.createServer((req, res) => {
  count?.(req, res)
  res.statusCode = n++ % 10 === 0 ? 500 : 200
  res.end('ok')
})
server.keepAliveTimeout = 60_000
server.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`))
process.on('SIGTERM', () => process.exit(0))
process.on('SIGINT', () => process.exit(0))
