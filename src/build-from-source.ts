// The package's `install` script (through scripts/install.cjs): builds the native binary with
// cargo when no prebuilt one loads here, or always with LOGHOUR_BUILD_FROM_SOURCE=1. npm runs a
// dependency's install script only once the user approved it, so a registry install of a
// supported platform never gets here; this is the way out for every other machine.
import { spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, rmSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { MIN_RUST, missingBindingMessage, platformTarget } from './platform.js'

/** The package root: dist/ and src/ both sit one level below it. */
const ROOT = resolve(__dirname, '..')

/** Where a cargo build leaves the addon, by platform (`[lib] name = "loghour"`, cdylib). */
function artifactName(): string {
  if (process.platform === 'win32') return 'loghour.dll'
  return process.platform === 'darwin' ? 'libloghour.dylib' : 'libloghour.so'
}

/** A message on stderr, in npm's output of the install. */
const say = (line: string) => process.stderr.write(`loghour: ${line}\n`)

/** Whether the native binary loads, tried in a child so a crash there cannot take this one down. */
function bindingLoads(): { ok: true } | { ok: false; message: string } {
  const probe = spawnSync(process.execPath, ['-e', "require('./binding.js')"], { cwd: ROOT, encoding: 'utf8' })
  return probe.status === 0 ? { ok: true } : { ok: false, message: probe.stderr }
}

/** `rustc --version`'s version (1.95.0), or undefined without a usable Rust on PATH. */
function rustVersion(): string | undefined {
  const rustc = spawnSync(process.env.RUSTC ?? 'rustc', ['--version'], { encoding: 'utf8' })
  const cargo = spawnSync(process.env.CARGO ?? 'cargo', ['--version'], { encoding: 'utf8' })
  if (rustc.status !== 0 || cargo.status !== 0) return undefined
  return /rustc (\d+\.\d+\.\d+)/.exec(rustc.stdout)?.[1]
}

const atLeast = (version: string, minimum: string) => {
  const [a = 0, b = 0] = version.split('.').map(Number)
  const [c = 0, d = 0] = minimum.split('.').map(Number)
  return a > c || (a === c && b >= d)
}

/**
 * Runs the source build if one is needed or asked for; returns the exit code. Without Rust, an
 * unasked build only warns (the rest of the user's install goes on; loading loghour then says
 * what is missing), an asked one fails.
 */
export function main(env: NodeJS.ProcessEnv = process.env): number {
  const asked = env.LOGHOUR_BUILD_FROM_SOURCE === '1' || env.LOGHOUR_BUILD_FROM_SOURCE === 'true'
  if (!asked && bindingLoads().ok) return 0
  const target = platformTarget()
  const rust = rustVersion()
  if (rust === undefined || !atLeast(rust, MIN_RUST)) {
    const why = rust === undefined ? 'cargo and rustc are not on PATH' : `rustc ${rust} is older than ${MIN_RUST}`
    if (asked) {
      say(
        `LOGHOUR_BUILD_FROM_SOURCE=1 needs Rust ${MIN_RUST} or newer, but ${why}; install it from https://rustup.rs and run \`npm rebuild loghour\` again.`,
      )
      return 1
    }
    say(`no prebuilt binary loads here and ${why}, so none was built.`)
    for (const line of missingBindingMessage(undefined).split('\n')) say(line)
    return 0
  }
  say(`building the native binary for ${target} from source with rustc ${rust} (a minute or two)…`)
  const ownTargetDir = env.CARGO_TARGET_DIR === undefined
  const targetDir = env.CARGO_TARGET_DIR ?? join(ROOT, 'crate', 'target')
  const build = spawnSync(env.CARGO ?? 'cargo', ['build', '--release', '--locked', '--manifest-path', join(ROOT, 'crate', 'Cargo.toml')], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...env, CARGO_TARGET_DIR: targetDir },
  })
  if (build.status !== 0) {
    say(`cargo build failed (exit ${build.status ?? build.signal}); the output above says why.`)
    return 1
  }
  const built = join(targetDir, 'release', artifactName())
  const addon = join(ROOT, `loghour.${target}.node`)
  copyFileSync(built, addon)
  // The build's intermediate files are hundreds of MB nobody needs once the addon is copied out.
  if (ownTargetDir && existsSync(targetDir)) rmSync(targetDir, { recursive: true, force: true })
  const loads = bindingLoads()
  if (!loads.ok) {
    say(`the binary built from source does not load: ${loads.message.trim()}`)
    return 1
  }
  say(`built ${addon}`)
  return 0
}
