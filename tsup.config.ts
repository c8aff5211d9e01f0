import { defineConfig, type Options } from 'tsup'

// Every output file sits directly in dist/, so the loader's path `../binding.js` (relative to
// src/) resolves to the package root from dist/ as well.
const common: Options = {
  target: 'node20',
  platform: 'node',
  sourcemap: true,
  // The napi-rs loader picks the platform's .node file at run time: never bundle it.
  external: [/\/binding\.js$/],
}

export default defineConfig([
  { ...common, entry: { index: 'src/index.ts' }, format: ['cjs', 'esm'], dts: true, clean: true },
  { ...common, entry: { loghour: 'src/cli/loghour.ts', 'loghour-server': 'src/cli/server.ts' }, format: ['cjs'] },
])
