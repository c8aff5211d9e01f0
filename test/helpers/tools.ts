import { existsSync } from 'node:fs'
import { join } from 'node:path'

// Real programs the tests need (redis-server, faketime, …): a test is skipped when one is missing,
// unless LOGHOUR_REQUIRE_ALL=1 (CI), where every real part is mandatory and a missing one fails.

/** True when the test must be skipped because `tool` is missing; throws instead in CI. */
export function missing(tool: string, available: boolean): boolean {
  if (available) return false
  if (process.env.LOGHOUR_REQUIRE_ALL === '1') throw new Error(`LOGHOUR_REQUIRE_ALL=1 but ${tool} is not installed`)
  return true
}

/** libfaketime itself (the `faketime` command forks, so signals would not reach the server). */
export const LIBFAKETIME = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib']
  .map((dir) => join(dir, 'faketime', 'libfaketime.so.1'))
  .find((path) => existsSync(path))

/** Environment that starts a process's clock at `now` (`YYYY-MM-DD HH:MM:SS`, in `TZ`); it runs on from there. */
export function pinnedClock(now: string): Record<string, string> {
  return { LD_PRELOAD: LIBFAKETIME!, FAKETIME: `@${now}`, FAKETIME_DONT_FAKE_MONOTONIC: '1' }
}
