// A real HAProxy in a temp dir, and the configuration of docs/redis.md for it.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, onTestFinished } from 'vitest'
import { eventually, open } from './server.js'

export const HAPROXY = ['/usr/sbin/haproxy', '/usr/bin/haproxy'].find((p) => existsSync(p))

/** The HAProxy configuration of docs/redis.md for loghour-servers at `backends`, listening on `port`. */
export function haproxyRecipe(port: number, backends: number[]): string {
  return `defaults
  mode tcp
  timeout connect 5s
  timeout client 10m
  timeout server 10m
frontend loghour
  bind 127.0.0.1:${port}
  default_backend loghour_servers
backend loghour_servers
  balance roundrobin
${backends.map((p, i) => `  server loghour${i + 1} 127.0.0.1:${p} check`).join('\n')}
`
}

/** Starts HAProxy in the foreground with `config` (checked with -c first); killed when the test ends. */
export async function startHaproxy(config: string, port: number): Promise<ChildProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'loghour-haproxy-'))
  const file = join(dir, 'haproxy.cfg')
  writeFileSync(file, config)
  expect(spawnSync(HAPROXY!, ['-c', '-f', file]).status, 'haproxy -c accepts the configuration').toBe(0)
  const child = spawn(HAPROXY!, ['-db', '-f', file], { stdio: 'ignore' })
  onTestFinished(() => {
    if (child.exitCode === null) child.kill('SIGKILL')
  })
  await eventually(
    () =>
      open(port).then(
        (s) => {
          s.destroy()
          return true
        },
        () => false,
      ),
    10_000,
    'HAProxy listening',
  )
  return child
}
