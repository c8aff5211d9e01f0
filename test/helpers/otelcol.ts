// A real OpenTelemetry Collector (0.165.0, the upstream code with the components of
// scripts/otelcol/main.go: filelog receiver, otlphttp, otlp and debug exporters), which `.ci/run`
// builds from the Go module proxy into a cache folder and names in LOGHOUR_OTELCOL. A test gives it
// a config (YAML) and an environment; it runs in a temp dir and is stopped when the test ends.
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { homedir, tmpdir } from 'node:os'
import { join } from 'node:path'
import { onTestFinished } from 'vitest'

/** Where `.ci/run` builds the Collector. */
export const OTELCOL_DEFAULT = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'loghour-ci/otelcol-0.165.0/otelcol-loghour')

/** The Collector binary (LOGHOUR_OTELCOL, else the default path when it exists), or undefined. */
export function otelcolBinary(): string | undefined {
  if (process.env.LOGHOUR_OTELCOL) return process.env.LOGHOUR_OTELCOL
  return existsSync(OTELCOL_DEFAULT) ? OTELCOL_DEFAULT : undefined
}

export interface Collector {
  process: ChildProcess
  /** What it logged (stderr and stdout), for a failing test's message. */
  logs(): string
  /** SIGTERM (it sends what it holds and exits), SIGKILL after 5 s; removes its temp dir. */
  stop(): Promise<void>
}

/**
 * Writes `configYaml` to a temp dir and starts `otelcol-loghour --config <file>` there with `env`
 * added to this process's environment; resolves once it logs "Everything is ready" (its pipelines
 * started), rejects if it exits or 30 s pass first. Call it inside a test: it is stopped when the
 * test ends, also when it fails.
 */
export async function startCollector(configYaml: string, env: Record<string, string> = {}): Promise<Collector> {
  const bin = otelcolBinary()
  if (!bin) throw new Error('no OpenTelemetry Collector: bash .ci/run builds it from scripts/otelcol')
  const dir = mkdtempSync(join(tmpdir(), 'loghour-otelcol-'))
  const config = join(dir, 'config.yaml')
  writeFileSync(config, configYaml)
  const child = spawn(bin, ['--config', config], { cwd: dir, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(timer)
    }
    rmSync(dir, { recursive: true, force: true })
  }
  onTestFinished(stop)
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the Collector was not ready within 30 s:\n${output.slice(-4000)}`)), 30_000)
    const read = (d: Buffer) => {
      output += d.toString()
      if (output.includes('Everything is ready')) {
        clearTimeout(timer)
        resolve()
      }
    }
    child.stdout!.on('data', read)
    child.stderr!.on('data', read)
    void exited.then(() => {
      clearTimeout(timer)
      reject(new Error(`the Collector exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${output.slice(-4000)}`))
    })
  })
  return { process: child, logs: () => output, stop }
}
