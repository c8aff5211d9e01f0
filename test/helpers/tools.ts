// Real programs the tests need (redis-server, faketime, …): a test is skipped when one is missing,
// unless LOGHOUR_REQUIRE_ALL=1 (CI), where every real part is mandatory and a missing one fails.

/** True when the test must be skipped because `tool` is missing; throws instead in CI. */
export function missing(tool: string, available: boolean): boolean {
  if (available) return false
  if (process.env.LOGHOUR_REQUIRE_ALL === '1') throw new Error(`LOGHOUR_REQUIRE_ALL=1 but ${tool} is not installed`)
  return true
}
