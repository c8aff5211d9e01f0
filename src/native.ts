// The single import point of the generated napi-rs loader: the rest of the TypeScript layer
// never touches the raw native classes except through this module.
import type { NativeLineStream } from '../binding.js'

export type { NativeDailyInfo, NativeDayHours, NativeFieldNames, NativeLineCounts, NativeRule, NativeScanResult } from '../binding.js'
export {
  DENSE_SIZE,
  dayStartMs,
  elementHash,
  generateDemo,
  HOURS,
  invalidReasons,
  isTimeZone,
  localDay,
  MAX_DEMO_LINES,
  NativeLineStream,
  NativeScanner,
  NativeSketchSet,
  timeZoneNames,
} from '../binding.js'

/** Where a consumer hands out raw native line streams (kept off its public surface). */
export const OPEN_NATIVE_STREAM: unique symbol = Symbol('loghour.openNativeStream')

/** What reads input without a `Writable` in between (the TCP server, `loghour analyze`) needs. */
export interface LineSink {
  [OPEN_NATIVE_STREAM](): NativeLineStream
}
