// Secrets in Redis addresses never reach a log line, an error message or the terminal.

/** Query parameters that carry a secret in a connection URL. */
const SECRET_PARAMETER = /([?&;](?:password|pass|pwd|auth|token|secret)=)[^&;#]*/gi

/**
 * A Redis address as it may be shown: everything between the scheme and the last `@` (the user
 * name and password, whatever characters the password holds) and secret query parameters are
 * replaced by `***`. It works on any text, also on values that are not valid URLs.
 *
 * @example
 * ```ts
 * redactAddress('redis://user:ab@Sup3rSecret@host:6379/0') // 'redis://***@host:6379/0'
 * redactAddress('rediss://host/?password=hunter2')          // 'rediss://host/?password=***'
 * ```
 */
export function redactAddress(address: string): string {
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(address)?.[0].length ?? 0
  const at = address.lastIndexOf('@')
  const masked = at >= scheme ? `${address.slice(0, scheme)}***${address.slice(at)}` : address
  return masked.replace(SECRET_PARAMETER, '$1***')
}
