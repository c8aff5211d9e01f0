// The package as users get it: the committed generated loader matches the build, and the typed
// entry compiles the documented usage and rejects misuse.
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ROOT } from './helpers/cli.js'

describe('package', () => {
  it.skipIf(!existsSync(join(ROOT, '.git')))('binding.js and binding.d.ts are what the build generates (commit them after a build)', () => {
    const r = spawnSync('git', ['diff', '--stat', '--exit-code', '--', 'binding.js', 'binding.d.ts'], { cwd: ROOT, encoding: 'utf8' })
    expect(r.stdout, 'generated loader differs from the committed one').toBe('')
    expect(r.status).toBe(0)
  })

  it('the root index.d.ts type-checks documented usage and rejects misuse', () => {
    const tsc = join(ROOT, 'node_modules/typescript/bin/tsc')
    const r = spawnSync(process.execPath, [tsc, '-p', join(ROOT, 'test/types/tsconfig.json')], { cwd: ROOT, encoding: 'utf8' })
    expect(r.stdout + r.stderr).toBe('')
    expect(r.status).toBe(0)
  })

  it('the library loads no CLI, logging, metrics or .env code (an embedder never runs them)', () => {
    const script = `
      const consumer = require('./dist/index.js').createConsumer({ daily: true })
      consumer.write('{"time":"2026-11-23 09:00:00","ip":"a","status_code":500}\\n')
      consumer.stats({ by: 'weekday' }).then(() => {
        const loaded = Object.keys(require.cache).map((p) => (/node_modules\\/((@[^/]+\\/)?[^/]+)/.exec(p) || [])[1]).filter(Boolean)
        console.log(JSON.stringify([...new Set(loaded)].sort()))
      })`
    const run = spawnSync(process.execPath, ['-e', script], { cwd: ROOT, encoding: 'utf8' })
    expect(run.stderr).toBe('')
    const loaded = JSON.parse(run.stdout) as string[]
    for (const side of ['pino', 'pino-pretty', 'commander', 'prom-client', 'dotenv', 'ioredis']) expect(loaded).not.toContain(side)
    expect(loaded).toEqual(['cluster-key-slot'])
  })

  it('CommonJS and ESM builds load the native core', () => {
    const cjs = spawnSync(
      process.execPath,
      ['-e', "const l=require('./dist/index.js');console.log(typeof l.createConsumer, l.INVALID_REASONS.length)"],
      { cwd: ROOT, encoding: 'utf8' },
    )
    expect(cjs.stdout.trim()).toBe('function 8')
    const esm = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        "import {createConsumer, INVALID_REASONS} from './dist/index.mjs';console.log(typeof createConsumer, INVALID_REASONS.length)",
      ],
      { cwd: ROOT, encoding: 'utf8' },
    )
    expect(esm.stdout.trim()).toBe('function 8')
  })
})
