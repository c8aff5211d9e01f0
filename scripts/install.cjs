// npm's `install` script. In the published package it runs dist/build-from-source.js, which
// builds the native binary only where no prebuilt one loads (or with LOGHOUR_BUILD_FROM_SOURCE=1).
// In a git checkout it does nothing: `npm run build` builds there.
const { existsSync } = require('node:fs')
const { join } = require('node:path')

const root = join(__dirname, '..')
const entry = join(root, 'dist', 'build-from-source.js')
if (!existsSync(join(root, '.git')) && existsSync(entry)) process.exitCode = require(entry).main()
