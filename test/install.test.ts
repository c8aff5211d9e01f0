// The package as a user installs it: the release build of this platform's binary (glibc 2.17 on
// linux-x64-gnu), the napi-rs release flow (`napi pre-publish` writing optionalDependencies),
// both tarballs installed into an empty folder (dependencies from npm's cache, or the registry where the cache lacks their metadata) with no Rust on PATH, the message when
// the platform package is missing, and the source build that replaces it.
import { type SpawnSyncOptions, spawnSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, dirname, join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PREBUILT_TARGETS, platformTarget } from '../src/platform.js'
import { ROOT } from './helpers/cli.js'
import { missing } from './helpers/tools.js'

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'))
const TARGET = platformTarget()
const NPX = join(dirname(process.execPath), 'npx')
const NPM = join(dirname(process.execPath), 'npm')
/** Only what a user without Rust has: node's own folder and the system's. */
const NO_RUST_PATH = [dirname(process.execPath), '/usr/bin', '/bin'].join(delimiter)
const fixture = join(__dirname, 'fixtures/reference-12.log')

const sh = (command: string, args: string[], options: SpawnSyncOptions = {}) => {
  const r = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...options })
  return { code: r.status, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? ''), all: `${r.stdout ?? ''}${r.stderr ?? ''}` }
}
const ok = (r: ReturnType<typeof sh>) => {
  if (r.code !== 0) throw new Error(`exit ${r.code}:\n${r.all}`)
  return r
}
const works = (command: string, args: string[]) => spawnSync(command, args, { stdio: 'ignore' }).status === 0

/**
 * The cargo builds here share the machine with the other test files, some of which time Redis
 * round trips: one job, at the lowest priority, leaves them a core.
 */
const BUILD_ENV = { ...process.env, CARGO_BUILD_JOBS: '1' }
const lowPriority = (command: string, args: string[]): [string, string[]] =>
  works('nice', ['true']) ? ['nice', ['-n', '19', command, ...args]] : [command, args]

/** glibc symbol versions a binary needs, from its dynamic symbol table. */
function glibcVersions(binary: string): string[] {
  const versions = new Set(ok(sh('objdump', ['-T', binary])).stdout.match(/GLIBC_\d+(\.\d+)*/g) ?? [])
  return [...versions].sort((a, b) => compareVersions(a.slice(6), b.slice(6)))
}
const compareVersions = (a: string, b: string) => {
  const [x, y] = [a.split('.').map(Number), b.split('.').map(Number)]
  for (let i = 0; i < Math.max(x.length, y.length); i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0)
  return 0
}

/** Sum of file sizes under a folder, as a user's disk sees the installed packages. */
function footprint(dir: string): number {
  let bytes = 0
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) bytes += readFileSync(join(entry.parentPath, entry.name)).length
  }
  return bytes
}

const oldGlibcBuild = TARGET === 'linux-x64-gnu'
const zigAvailable = works('cargo-zigbuild', ['--version']) && (works('zig', ['version']) || works('python3', ['-c', 'import ziglang']))
const skipGlibc = oldGlibcBuild && (missing('objdump', works('objdump', ['--version'])) || missing('cargo-zigbuild and zig', zigAvailable))

// Unix tools (tar, du, sh) throughout; Windows runs the rest of the suite against its binary.
describe.skipIf(process.platform === 'win32')('installing the package', () => {
  let work: string
  let binary: string
  let mainTarball: string
  let platformTarball: string
  let app: string
  const appRun = (command: string, args: string[], env: Record<string, string> = {}) =>
    sh(command, args, { cwd: app, env: { ...process.env, PATH: NO_RUST_PATH, npm_config_update_notifier: 'false', ...env } })

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'loghour-install-'))
    // The binary a release ships: linux-x64-gnu against glibc 2.17, stripped; elsewhere the local build.
    if (oldGlibcBuild && !skipGlibc) {
      const out = join(work, 'release')
      ok(
        sh(
          ...lowPriority(NPX, [
            'napi',
            'build',
            '--platform',
            '--release',
            '--strip',
            '-x',
            '--target',
            'x86_64-unknown-linux-gnu.2.17',
            '--manifest-path',
            'crate/Cargo.toml',
            '--output-dir',
            out,
            '--no-js',
            '--',
            '--locked',
          ]),
          { cwd: ROOT, env: BUILD_ENV },
        ),
      )
      binary = join(out, `loghour.${TARGET}.node`)
    } else {
      binary = join(ROOT, `loghour.${TARGET}.node`)
    }
    // The release flow on one target: the packed package, napi pre-publish (--skip-optional-publish:
    // nothing leaves this machine), then both packages packed as `npm publish` would.
    ok(sh(NPM, ['pack', '--ignore-scripts', '--pack-destination', work], { cwd: ROOT }))
    ok(sh('tar', ['xzf', `loghour-${pkg.version}.tgz`], { cwd: work }))
    const staged = join(work, 'package')
    const manifest = JSON.parse(readFileSync(join(staged, 'package.json'), 'utf8'))
    manifest.napi.targets = manifest.napi.targets.filter((triple: string) => triple.startsWith(tripleOf(TARGET)))
    writeFileSync(join(staged, 'package.json'), JSON.stringify(manifest, null, 2))
    cpSync(join(ROOT, 'npm', TARGET), join(staged, 'npm', TARGET), { recursive: true })
    cpSync(binary, join(staged, 'npm', TARGET, `loghour.${TARGET}.node`))
    ok(
      sh(join(ROOT, 'node_modules/.bin/napi'), ['pre-publish', '-t', 'npm', '--skip-optional-publish', '--no-gh-release'], { cwd: staged }),
    )
    const packed = join(work, 'packed')
    mkdirSync(packed)
    ok(sh(NPM, ['pack', '--ignore-scripts', '--pack-destination', packed], { cwd: staged }))
    ok(sh(NPM, ['pack', '--pack-destination', packed, `./npm/${TARGET}`], { cwd: staged }))
    mainTarball = join(packed, `loghour-${pkg.version}.tgz`)
    platformTarball = join(packed, `loghour-${TARGET}-${pkg.version}.tgz`)
    app = join(work, 'app')
    mkdirSync(app)
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true }))
  }, 600_000)

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true })
  })

  it.skipIf(!oldGlibcBuild || skipGlibc)('the linux-x64-gnu release binary needs glibc 2.17 at most and is stripped', () => {
    const versions = glibcVersions(binary)
    expect(versions.length).toBeGreaterThan(0)
    expect(compareVersions(versions.at(-1)!.slice(6), '2.17'), `newest: ${versions.at(-1)}`).toBeLessThanOrEqual(0)
    // The local build (glibc of this machine, not stripped) fails both checks: the test can fail.
    expect(ok(sh('objdump', ['-h', binary])).stdout).not.toContain('.debug_info')
    expect(glibcVersions(join(ROOT, `loghour.${TARGET}.node`)).at(-1)).not.toBe(versions.at(-1))
  })

  it('installs from the two tarballs, with no Rust on PATH, within 10 MB', () => {
    expect(spawnSync('cargo', ['--version'], { env: { PATH: NO_RUST_PATH } }).error, 'cargo is on the no-Rust PATH').toBeDefined()
    // --prefer-offline, not --offline: `npm ci` caches tarballs but not the packuments an install
    // resolves with, so on a fresh machine (an empty cache before `npm ci`) --offline is ENOTCACHED.
    const install = appRun(NPM, ['install', '--prefer-offline', '--no-audit', '--no-fund', mainTarball, platformTarball])
    expect(install.code, install.all).toBe(0)
    expect(install.all).not.toContain('EBADENGINE')
    // No EBADENGINE on the oldest Node we support either: every installed package accepts it.
    const oldest = /^>=\s*(\d+\.\d+)/.exec(pkg.engines.node)![1]!
    for (const entry of readdirSync(join(app, 'node_modules'), { recursive: true, encoding: 'utf8' })) {
      if (!/(^|\/)package\.json$/.test(entry) || entry.split('node_modules').length > 1) continue
      const range: string | undefined = JSON.parse(readFileSync(join(app, 'node_modules', entry), 'utf8')).engines?.node
      if (range === undefined || range === '*') continue
      const floor = /^>=\s*(\d+)(?:\.(\d+|x))?/.exec(range)
      expect(floor, `${entry}: engines.node ${range} (check it by hand)`).not.toBeNull()
      expect(compareVersions(`${floor![1]}.${floor![2] === 'x' ? 0 : (floor![2] ?? 0)}`, oldest), `${entry}: ${range}`).toBeLessThanOrEqual(
        0,
      )
    }
    const manifest = JSON.parse(readFileSync(join(app, 'node_modules/loghour/package.json'), 'utf8'))
    expect(manifest.optionalDependencies).toEqual({ [`loghour-${TARGET}`]: pkg.version })
    // What `du` shows (whole disk blocks) is what a user measures; the file sizes are smaller.
    const disk = Number(ok(sh('du', ['-sk', join(app, 'node_modules')])).stdout.split('\t')[0]) * 1024
    const bytes = footprint(join(app, 'node_modules'))
    console.log(`installed footprint: ${(disk / 2 ** 20).toFixed(1)} MiB on disk, ${(bytes / 2 ** 20).toFixed(1)} MiB of files`)
    expect(disk).toBeLessThanOrEqual(10 * 2 ** 20)
  })

  it('the main tarball carries no binary and nothing a user does not need', () => {
    const files = ok(sh('tar', ['tzf', mainTarball]))
      .stdout.split('\n')
      .filter(Boolean)
    expect(files.filter((f) => f.endsWith('.node'))).toEqual([])
    for (const need of [
      'dist/index.js',
      'dist/index.mjs',
      'dist/index.d.ts',
      'dist/THIRD-PARTY-NOTICES.md',
      'binding.js',
      'index.d.ts',
      'LICENSE',
    ]) {
      expect(files).toContain(`package/${need}`)
    }
    for (const need of ['crate/Cargo.toml', 'crate/Cargo.lock', 'crate/src/lib.rs', 'scripts/install.cjs'])
      expect(files).toContain(`package/${need}`)
    expect(files.filter((f) => /\.map$|^package\/(src|test|bench|docs|npm|\.ci|\.github)\//.test(f))).toEqual([])
  })

  it('the platform package declares os, cpu and libc and holds only its binary', () => {
    const installed = join(app, 'node_modules', `loghour-${TARGET}`)
    const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8'))
    expect(manifest.os).toEqual([process.platform])
    expect(manifest.cpu).toEqual([process.arch])
    if (process.platform === 'linux') expect(manifest.libc).toEqual([TARGET.endsWith('musl') ? 'musl' : 'glibc'])
    expect(readdirSync(installed).sort()).toEqual(['README.md', `loghour.${TARGET}.node`, 'package.json'].sort())
  })

  it('npx loghour-server --help, npx loghour analyze, require and import work', () => {
    expect(ok(appRun(NPX, ['loghour-server', '--help'])).stdout).toContain('Usage: loghour-server')
    const analyzed = ok(appRun(NPX, ['loghour', 'analyze', fixture, '--json'])).stdout
    const reference = ok(sh(process.execPath, [join(ROOT, 'dist/loghour.js'), 'analyze', fixture, '--json'])).stdout
    expect(JSON.parse(analyzed)).toEqual(JSON.parse(reference))
    const count = `c.write('{"time":"2026-11-23 09:00:00","ip":"a","status_code":500}\\n');c.stats().then((s)=>console.log(s.hours[9]))`
    expect(ok(appRun(process.execPath, ['-e', `const c=require('loghour').createConsumer();${count}`])).stdout.trim()).toBe('1')
    const esm = `import {createConsumer} from 'loghour';const c=createConsumer();${count}`
    expect(ok(appRun(process.execPath, ['--input-type=module', '-e', esm])).stdout.trim()).toBe('1')
  })

  it('without the platform package, loading says which platform is missing and how to build it', () => {
    const installed = join(app, 'node_modules', `loghour-${TARGET}`)
    const hidden = join(work, 'hidden')
    renameSync(installed, hidden)
    try {
      const library = appRun(process.execPath, ['-e', "require('loghour')"])
      expect(library.code).not.toBe(0)
      const command = appRun(NPX, ['loghour', '--version'])
      expect(command.code).toBe(1)
      for (const said of [library.stderr, command.stderr]) {
        expect(said).toContain(`target ${TARGET}`)
        expect(said).toContain(`loghour-${TARGET}`)
        expect(said).toContain('Rust 1.85 or newer')
        expect(said).toContain('npm rebuild loghour')
        expect(said).not.toMatch(/npm has a bug|npm i` again|reinstall/)
      }
      expect(command.stderr).not.toMatch(/^\s+at /m) // a command's message, not a stack
    } finally {
      renameSync(hidden, installed)
    }
  })

  it.skipIf(missing('cargo', works('cargo', ['--version'])))(
    'LOGHOUR_BUILD_FROM_SOURCE=1 fails naming Rust without it, and builds a working binary with it',
    () => {
      const installed = join(app, 'node_modules', `loghour-${TARGET}`)
      const hidden = join(work, 'hidden')
      renameSync(installed, hidden)
      try {
        // npm 11.19 and newer run a dependency's install script only once approved.
        if (appRun(NPM, ['install-scripts', 'ls']).code === 0) ok(appRun(NPM, ['install-scripts', 'approve', 'loghour']))
        const noRust = appRun(NPM, ['rebuild', 'loghour'], { LOGHOUR_BUILD_FROM_SOURCE: '1' })
        expect(noRust.code).not.toBe(0)
        expect(noRust.all).toContain('needs Rust 1.85 or newer, but cargo and rustc are not on PATH')
        const built = appRun(...lowPriority(NPM, ['rebuild', 'loghour', '--foreground-scripts']), {
          CARGO_BUILD_JOBS: '1',
          LOGHOUR_BUILD_FROM_SOURCE: '1',
          PATH: process.env.PATH ?? '',
          CARGO_TARGET_DIR: join(work, 'source-build'),
        })
        expect(built.code, built.all).toBe(0)
        expect(existsSync(join(app, 'node_modules/loghour', `loghour.${TARGET}.node`))).toBe(true)
        const analyzed = ok(appRun(NPX, ['loghour', 'analyze', fixture, '--json'])).stdout
        const reference = ok(sh(process.execPath, [join(ROOT, 'dist/loghour.js'), 'analyze', fixture, '--json'])).stdout
        expect(JSON.parse(analyzed)).toEqual(JSON.parse(reference))
      } finally {
        renameSync(hidden, installed)
      }
    },
    600_000,
  )
})

describe('platform packages', () => {
  it('napi.targets, npm/<target>/ and the loader list the same platforms', () => {
    const dirs = readdirSync(join(ROOT, 'npm')).sort()
    expect(dirs).toEqual([...PREBUILT_TARGETS].sort())
    expect(pkg.napi.targets.length).toBe(PREBUILT_TARGETS.length)
    for (const target of PREBUILT_TARGETS) {
      expect(
        pkg.napi.targets.some((triple: string) => triple.startsWith(tripleOf(target))),
        target,
      ).toBe(true)
      const manifest = JSON.parse(readFileSync(join(ROOT, 'npm', target, 'package.json'), 'utf8'))
      const [os, cpu, abi] = target.split('-')
      expect(manifest).toMatchObject({
        name: `loghour-${target}`,
        version: pkg.version,
        os: [os],
        cpu: [cpu],
        main: `loghour.${target}.node`,
      })
      expect(manifest.libc).toEqual(abi === 'gnu' ? ['glibc'] : abi === 'musl' ? ['musl'] : undefined)
      expect(manifest.engines).toEqual(pkg.engines)
    }
    expect(pkg.files.some((f: string) => f.includes('.node'))).toBe(false)
  })
})

/** The start of the Rust triple of a napi target: `linux-x64-gnu` → `x86_64-unknown-linux-gnu`. */
function tripleOf(target: string): string {
  const [os, cpu, abi] = target.split('-') as [string, string, string | undefined]
  const arch = cpu === 'x64' ? 'x86_64' : cpu === 'arm64' ? 'aarch64' : cpu
  if (os === 'darwin') return `${arch}-apple-darwin`
  if (os === 'win32') return `${arch}-pc-windows-${abi}`
  return `${arch}-unknown-${os}-${abi ?? ''}`
}
