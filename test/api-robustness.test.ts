// No input through the API can abort, crash or hang the process, and no option comes from an
// object's prototype.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { createConsumer, createScanner, demoLines, MAX_DEMO_LINES } from '../src/index.js'
import { ROOT } from './helpers/cli.js'
import { selfSignedCertificate } from './helpers/tls.js'

describe('the public API under arbitrary input', () => {
  it('demoLines refuses what it cannot allocate instead of aborting', () => {
    expect(() => demoLines(1, 1, 4294967295)).toThrow(RangeError)
    expect(() => demoLines(1, 1, MAX_DEMO_LINES + 1)).toThrow(`count must be an integer from 0 to ${MAX_DEMO_LINES}`)
    expect(demoLines(2, 7, 3).toString().split('\n')).toHaveLength(4)
  })

  it('thousands of random calls in a child process: it ends normally', () => {
    const { certFile, keyFile } = selfSignedCertificate()
    const r = spawnSync(process.execPath, [join(ROOT, 'test/fixtures/api-abuse.cjs')], {
      encoding: 'utf8',
      timeout: 120_000,
      env: { ...process.env, LOGHOUR_ABUSE_CERT: certFile, LOGHOUR_ABUSE_KEY: keyFile },
    })
    expect(r.signal, r.stderr).toBeNull()
    expect(r.stderr).toBe('')
    expect(r.stdout).toBe('ok\n')
    expect(r.status).toBe(0)
  })
})

describe('options are own properties only', () => {
  it('a polluted Object.prototype is no option', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'loghour-proto-'))
    const file = join(dir, 'planted.snap')
    const proto = Object.prototype as Record<string, unknown>
    proto.snapshot = file
    proto.store = { redis: 'redis://127.0.0.1:1' }
    proto.maxLineBytes = 64
    try {
      const consumer = createConsumer()
      expect(consumer.options.snapshot).toBeUndefined()
      expect(consumer.storeKind).toBe('memory')
      expect(consumer.options.maxLineBytes).toBe(65536)
      consumer.write('{"time":"2019-05-06 17:25:54","ip":"a","status_code":500}\n')
      await consumer.close()
      expect(existsSync(file)).toBe(false)
      expect(createConsumer({ fields: { ip: 'client' } }).options.fields).toEqual({ ip: 'client' })
    } finally {
      delete proto.snapshot
      delete proto.store
      delete proto.maxLineBytes
    }
  })

  it('inherited properties of an options object are ignored', () => {
    const options = Object.create({ maxLineBytes: 64, keyPrefix: 'inherited_' }) as object
    expect(createConsumer(options).options).toMatchObject({ maxLineBytes: 65536, keyPrefix: 'error_hour_' })
    expect(createConsumer({ __proto__: { maxLineBytes: 64 } } as never).options.maxLineBytes).toBe(65536)
    expect(() => createScanner(Object.create({ store: 'memory' }) as never)).not.toThrow()
  })
})
