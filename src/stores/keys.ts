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

/**
 * `{<prefix><H>}:<YYYY-MM-DD>`: hour `H` of one day (with `daily`). The braces are a cluster hash
 * tag naming the all-time key, so every day of an hour shares its slot and one `PFCOUNT` may
 * name many days; a prefix with its own tag keeps it (`{loghour}error_hour_9:2026-11-23`).
 */
export function dayKey(prefix: string, hour: number, date: string): string {
  return inHourSlot(prefix, hour, date)
}

/** `{<prefix><H>}:<suffix>`: a key in the slot of hour `H` (the prefix's own tag, when it has one). */
function inHourSlot(prefix: string, hour: number, suffix: string): string {
  const key = hourKey(prefix, hour)
  return hashTag(key) === null ? `{${key}}:${suffix}` : `${key}:${suffix}`
}

/**
 * `{<prefix><H>}:group:<value>`: hour `H` of one `groupBy` value (all-time), in the hour's slot.
 * @example
 * groupKey('error_hour_', 9, '/users/:id') // '{error_hour_9}:group:/users/:id'
 */
export function groupKey(prefix: string, hour: number, value: string): string {
  return inHourSlot(prefix, hour, `group:${value}`)
}

/** `{<prefix><H>}:groups`: the set of the values with a group key at hour `H` (what `stats` reads). */
export function groupsKey(prefix: string, hour: number): string {
  return inHourSlot(prefix, hour, 'groups')
}

/**
 * Whether two key prefixes could name the same hour key (`error_hour_` and `error_hour_1` both
 * name `error_hour_10`): the one is the other followed by digits only.
 * @example
 * hourKeysClash('error_hour_', 'user_hour_') // false
 */
export function hourKeysClash(a: string, b: string): boolean {
  const [short, long] = a.length <= b.length ? [a, b] : [b, a]
  return long.startsWith(short) && /^\d*$/.test(long.slice(short.length))
}
