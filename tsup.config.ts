import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Plugin } from 'esbuild'
import { defineConfig, type Options } from 'tsup'

/**
 * Libraries compiled into dist/ instead of installed beside it. Each ships megabytes a user never
 * runs (zod: every locale and API flavour for the few hundred KB of `zod/mini` we use;
 * prom-client: bintrees' 2 MB of test data, @opentelemetry/api's several builds; pino-pretty:
 * its command line's dependencies, for the human log format only), so bundling what we import
 * keeps `npm install loghour` small while the libraries stay the ones we chose. Their licenses go
 * into dist/THIRD-PARTY-NOTICES.md; the build fails if anything else gets bundled.
 */
const BUNDLED = [
  'zod',
  ...['prom-client', 'bintrees', 'tdigest', '@opentelemetry/api'],
  ...['pino-pretty', 'colorette', 'dateformat', 'fast-copy', 'fast-safe-stringify', 'secure-json-parse'],
  ...['pump', 'end-of-stream', 'once', 'wrappy', 'split2', 'pino-abstract-transport', 'atomic-sleep', 'on-exit-leak-free'],
]

const packageOf = (path: string) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(path)?.[1]

/** Refuses to bundle any package not listed above, and writes the listed ones' licenses. */
const notices: Plugin = {
  name: 'loghour-notices',
  setup(build) {
    build.initialOptions.metafile = true
    build.onEnd((result) => {
      if (!result.metafile) return
      const used = new Set(
        Object.keys(result.metafile.inputs)
          .map(packageOf)
          .filter((p) => p !== undefined),
      )
      const stray = [...used].filter((p) => !BUNDLED.includes(p))
      if (stray.length > 0) throw new Error(`bundled a package not in BUNDLED (tsup.config.ts): ${stray.join(', ')}`)
      const sections = BUNDLED.map((name) => {
        const dir = join('node_modules', name)
        const { version, license } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
        const file = readdirSync(dir).find((f) => /^licen[cs]e/i.test(f))
        const text = file ? readFileSync(join(dir, file), 'utf8').trim() : `${license}`
        return `## ${name} ${version} (${license})\n\n\`\`\`\n${text}\n\`\`\`\n`
      })
      const intro = '# Third-party code compiled into dist/\n\nloghour bundles parts of these packages (see tsup.config.ts).\n\n'
      // tsup writes the bundles after this hook: on a first build dist/ does not exist yet.
      mkdirSync('dist', { recursive: true })
      writeFileSync(join('dist', 'THIRD-PARTY-NOTICES.md'), intro + sections.join('\n'))
    })
  },
}

// Every output file sits directly in dist/, so the loader's path `../binding.js` (relative to
// src/) resolves to the package root from dist/ as well.
const common: Options = {
  target: 'node20',
  platform: 'node',
  // The napi-rs loader picks the platform's .node file at run time: never bundle it.
  external: [/\/binding\.js$/],
  noExternal: BUNDLED,
  esbuildPlugins: [notices],
}

/**
 * One CommonJS build of the library and both commands with shared chunks, so the bundled
 * libraries exist once; dist/index.mjs re-exports dist/index.js, which also spares ESM and
 * CommonJS users two copies of every class (an `instanceof OptionError` holds across both).
 */
export default defineConfig({
  ...common,
  entry: {
    index: 'src/index.ts',
    loghour: 'src/cli/loghour.ts',
    'loghour-server': 'src/cli/server.ts',
    'build-from-source': 'src/build-from-source.ts',
    pino: 'src/pino.ts',
    fastify: 'src/fastify.ts',
  },
  format: ['cjs'],
  splitting: true,
  dts: { entry: { index: 'src/index.ts', pino: 'src/pino.ts', fastify: 'src/fastify.ts' } },
  clean: true,
  sourcemap: true,
  onSuccess: async () => writeFileSync(join('dist', 'index.mjs'), "export * from './index.js'\n"),
})
