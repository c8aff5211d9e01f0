// The single import point of the generated napi-rs loader: the rest of the TypeScript layer
// never touches the raw native classes except through this module.
export {
  NativeSketchSet,
  NativeLineStream,
  NativeScanner,
  elementHash,
  generateDemo,
  invalidReasons,
  DENSE_BYTES,
  HOURS,
  MAX_DEMO_LINES,
} from '../binding.js'
export type { NativeCounters, NativeFieldNames, NativeScanResult } from '../binding.js'
