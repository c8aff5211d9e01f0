// The single import point of the generated napi-rs loader: the rest of the TypeScript layer
// never touches the raw native classes except through this module.
import type { NativeLineStream } from '../binding.js'

export {
  NativeSketchSet,
  NativeLineStream,
  NativeScanner,
  elementHash,
  generateDemo,
  invalidReasons,
  DENSE_SIZE,
  HOURS,
  MAX_DEMO_LINES,
} from '../binding.js'
export type { NativeLineCounts, NativeFieldNames, NativeScanResult } from '../binding.js'

/** Where a consumer hands out raw native line streams (kept off its public surface). */
export const OPEN_NATIVE_STREAM: unique symbol = Symbol('loghour.openNativeStream')

/** What reads input without a `Writable` in between (the TCP server, `loghour analyze`) needs. */
export interface LineSink {
  [OPEN_NATIVE_STREAM](): NativeLineStream
}
