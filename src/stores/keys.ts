// Redis key names: hour keys, and the temporary delta key that must share their cluster slot.

/** The hash tag Redis Cluster hashes for `key` (between the first `{` and the next `}`), or null. */
export function hashTag(key: string): string | null {
  const open = key.indexOf('{')
  if (open < 0) return null
  const close = key.indexOf('}', open + 1)
  return close > open + 1 ? key.slice(open + 1, close) : null
}

/** Why a key prefix cannot be used, or null when it can. */
export function keyPrefixProblem(prefix: string): string | null {
  if (hashTag(prefix) === null && prefix.includes('}')) {
    return 'braces are only allowed as one Redis Cluster hash tag, like "{loghour}error_hour_"'
  }
  return null
}

/** `<prefix><H>`: the original service's key of hour `H` (not zero-padded). */
export function hourKey(prefix: string, hour: number): string {
  return `${prefix}${hour}`
}

/**
 * The temporary key a delta is written to before `PFMERGE`: it hashes to the same cluster slot
 * as `target` (its hash tag is the target's tag, or the whole target when it has none).
 */
export function deltaKey(target: string): string {
  return hashTag(target) === null ? `{${target}}:loghour-delta` : `${target}:loghour-delta`
}
