// Which prebuilt native binary fits this machine, and what to tell a user when none does. Shared
// by the loader (src/native.ts) and the source build (src/build-from-source.ts), so both spell a
// platform as binding.js and the npm/<target> packages do.

/** The platforms with a prebuilt package (`npm/<target>/`, package.json `napi.targets`). */
export const PREBUILT_TARGETS = [
  'linux-x64-gnu',
  'linux-arm64-gnu',
  'linux-x64-musl',
  'linux-arm64-musl',
  'darwin-x64',
  'darwin-arm64',
  'win32-x64-msvc',
] as const

/** The oldest Rust that builds the crate (crate/Cargo.toml `rust-version`). */
export const MIN_RUST = '1.85'

/** The C library of a Linux machine: glibc with its version, or musl (Alpine). */
export function linuxLibc(): { kind: 'gnu'; version: string } | { kind: 'musl' } {
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined
  const version = report?.header?.glibcVersionRuntime
  return version ? { kind: 'gnu', version } : { kind: 'musl' }
}

/**
 * This machine in napi-rs's spelling: `linux-x64-gnu`, `linux-arm64-musl`, `darwin-arm64`,
 * `win32-x64-msvc`, `freebsd-x64`…
 * @example platformTarget() // 'linux-x64-gnu' on a usual Linux server
 */
export function platformTarget(): string {
  const { platform, arch } = process
  if (platform === 'linux') return `linux-${arch}-${linuxLibc().kind}`
  if (platform === 'win32') return `win32-${arch}-msvc`
  return `${platform}-${arch}`
}

/** Words for the machine: "Linux x64 with glibc 2.31", "macOS arm64"… */
function describeMachine(): string {
  const { platform, arch } = process
  if (platform === 'linux') {
    const libc = linuxLibc()
    return `Linux ${arch} with ${libc.kind === 'gnu' ? `glibc ${libc.version}` : 'musl'}`
  }
  return `${platform === 'darwin' ? 'macOS' : platform === 'win32' ? 'Windows' : platform} ${arch}`
}

/** What failed beyond "not found": a binary that exists but does not load (an older glibc…). */
function loadFailures(error: unknown): string[] {
  const failures: string[] = []
  for (let e = error, depth = 0; e instanceof Error && depth < 32; e = e.cause, depth++) {
    const first = e.message.split('\n')[0]!
    if (!/^Cannot find (module|native binding)|^Failed to load native binding/.test(first)) failures.push(first)
  }
  return failures
}

/**
 * The message for a package whose native binary is missing or unusable: the machine, the package
 * it needs, and the two ways out (a prebuilt platform, or a source build with Rust).
 */
export function missingBindingMessage(error: unknown): string {
  const target = platformTarget()
  const prebuilt = (PREBUILT_TARGETS as readonly string[]).includes(target)
  const failures = loadFailures(error)
  const lines = [
    `loghour: no native binary loads on this machine (${describeMachine()}, target ${target}).`,
    prebuilt
      ? failures.length > 0
        ? `The binary for ${target} is there but did not load: ${failures.join('; ')}`
        : `The package loghour-${target} is not installed (npm skips optional dependencies with --omit=optional or --no-optional, and some lockfiles made on another platform lack it): install it with \`npm install loghour-${target}\`.`
      : `There is no prebuilt package for ${target}; prebuilt: ${PREBUILT_TARGETS.join(', ')}.`,
    `To build it from source, install Rust ${MIN_RUST} or newer (https://rustup.rs) and run:`,
    '  LOGHOUR_BUILD_FROM_SOURCE=1 npm rebuild loghour',
    '(an npm that blocks dependencies\' install scripts needs `npm install-scripts approve loghour` first; see "Install" in the README).',
  ]
  return lines.join('\n')
}
