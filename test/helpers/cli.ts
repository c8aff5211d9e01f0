import { type SpawnOptions, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'

export const ROOT = join(__dirname, '../..')

/** Path of a built bin script; the CLI tests run the build, as users do. */
export function bin(name: string): string {
  const path = join(ROOT, 'dist', name)
  if (!existsSync(path)) throw new Error(`${path} is missing: run \`npm run build\` first`)
  return path
}

export interface RunResult {
  code: number | null
  stdout: Buffer
  stderr: string
}

/** Runs a bin script with arguments, optional stdin, and collects its output. */
export function run(script: string, args: string[], input?: Buffer | string, options: SpawnOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin(script), ...args], { stdio: ['pipe', 'pipe', 'pipe'], ...options })
    const out: Buffer[] = []
    let stderr = ''
    child.stdout!.on('data', (d: Buffer) => out.push(d))
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr }))
    child.stdin!.on('error', () => {})
    child.stdin!.end(input)
  })
}
