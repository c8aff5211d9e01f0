import { generateDemo, MAX_DEMO_LINES } from './native.js'

export { MAX_DEMO_LINES }

/** Highest line number: keeps both patterns' timestamps within four-digit years. */
export const MAX_LINE_NUMBER = 100_000_000_000

/** The original service's two demo streams, and the shop (3: routes, the share hurt; docs/share.md). */
export type DemoPattern = 1 | 2 | 3

/**
 * Lines `start … start + count - 1` (numbered from 1) of the original service's demo stream
 * `pattern`, byte-identical to its `script_no_<pattern>.sh` under `TZ=UTC`; at most
 * {@link MAX_DEMO_LINES} (10,000,000, about 700 MB) per call.
 *
 * @example
 * ```ts
 * demoLines(1, 1, 1).toString()
 * // '{"time":"2019-05-14 09:05:52","ip":"10.0.191.219","status_code":303}\n'
 * ```
 */
export function demoLines(pattern: DemoPattern, start: number, count: number): Buffer {
  if (pattern !== 1 && pattern !== 2 && pattern !== 3) throw new RangeError(`loghour: pattern must be 1, 2 or 3, got ${pattern}`)
  if (!Number.isSafeInteger(start) || start < 1) throw new RangeError(`loghour: start must be an integer >= 1, got ${start}`)
  if (!Number.isInteger(count) || count < 0 || count > MAX_DEMO_LINES) {
    // More would be an allocation of gigabytes in one piece: call again, or use `loghour gen`.
    throw new RangeError(`loghour: count must be an integer from 0 to ${MAX_DEMO_LINES} (call again for more lines), got ${count}`)
  }
  if (start + count - 1 > MAX_LINE_NUMBER) {
    throw new RangeError(
      `loghour: the last line number must be at most ${MAX_LINE_NUMBER} (timestamps stay within year 9999), got ${start + count - 1}`,
    )
  }
  return generateDemo(pattern, start, count)
}
