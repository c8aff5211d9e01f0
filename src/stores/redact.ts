// Secrets in Redis addresses never reach a log line, an error message or the terminal.

/**
 * Query parameters that carry a secret in a connection URL (ioredis takes every query parameter
 * as an option: `password`, `sentinelPassword`, …), and their values.
 */
const SECRET_PARAMETER = /[?&;][\w-]*(?:password|pass|pwd|auth|token|secret)[\w-]*=([^&;#]*)/gi

/**
 * A Redis address as it may be shown: the user name and password and the values of secret query
 * parameters are replaced by `***`. The user part is everything between the scheme and the last
 * `@` (a password may hold any character, and nothing of it may show), except an `@` inside a
 * secret parameter's value, which is that value's own.
 *
 * @example
 * ```ts
 * redactAddress('redis://user:ab@Sup3rSecret@host:6379/0') // 'redis://***@host:6379/0'
 * redactAddress('rediss://host/?password=ab@cd')            // 'rediss://host/?password=***'
 * ```
 */
export function redactAddress(address: string): string {
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(address)?.[0].length ?? 0
  const secrets = [...address.matchAll(SECRET_PARAMETER)].map((m): [number, number] => {
    const start = m.index + m[0].length - m[1]!.length
    return [start, start + m[1]!.length]
  })
  let at = address.lastIndexOf('@')
  for (const [from, to] of [...secrets].reverse()) {
    if (at >= from && at < to) at = address.lastIndexOf('@', from - 1)
  }
  const ranges = at >= scheme ? [[scheme, at] as [number, number], ...secrets] : secrets
  // Overlapping secrets are one masked stretch: no part of either shows.
  ranges.sort((a, b) => a[0] - b[0])
  let out = ''
  let shown = 0
  for (const [from, to] of ranges) {
    if (from < shown) {
      shown = Math.max(shown, to)
      continue
    }
    out += `${address.slice(shown, from)}***`
    shown = to
  }
  return out + address.slice(shown)
}
