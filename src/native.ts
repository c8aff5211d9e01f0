// The single import point of the generated napi-rs loader: the rest of the TypeScript layer
// never touches the raw native classes except through this module.
import { createRequire } from 'node:module'
import { basename, dirname } from 'node:path'
import type * as Binding from '../binding.js'
import { missingBindingMessage } from './platform.js'

export type {
  NativeDailyInfo,
  NativeDayHours,
  NativeFieldNames,
  NativeGroupHours,
  NativeGroups,
  NativeGroupValue,
  NativeLineCounts,
  NativeReading,
  NativeRule,
  NativeScanResult,
} from '../binding.js'

/**
 * Thrown when importing loghour on a machine where no native binary loads: its message names the
 * machine, the missing package and how to build from source (never the loader's "reinstall").
 */
export class NativeBindingError extends Error {
  override name = 'NativeBindingError'
}

function loadBinding(): typeof Binding {
  try {
    // binding.js sits at the package root, one level above both src/ and dist/.
    return createRequire(__filename)('../binding.js') as typeof Binding
  } catch (error) {
    const message = missingBindingMessage(error)
    // One of our own commands starting: say it as a command says things, without a stack.
    const main = require.main?.filename
    if (main && dirname(main) === __dirname && /^loghour(-server)?\.js$/.test(basename(main))) {
      process.stderr.write(`${message}\n`)
      process.exit(1)
    }
    throw new NativeBindingError(message)
  }
}

const binding = loadBinding()

export const {
  DENSE_SIZE,
  dayStartMs,
  elementHash,
  generateDemo,
  groupCountsOf,
  HOURS,
  invalidReasons,
  isTimeZone,
  localDay,
  MAX_DEMO_LINES,
  NativeLineStream,
  NativeScanner,
  NativeSketchSet,
  otlpExportResponse,
  otlpStatus,
  timeZoneNames,
} = binding
export type NativeLineStream = Binding.NativeLineStream
export type NativeScanner = Binding.NativeScanner
export type NativeSketchSet = Binding.NativeSketchSet

/** Where a consumer hands out raw native line streams (kept off its public surface). */
import type { ReadingOptions } from './schemas.js'

export const OPEN_NATIVE_STREAM: unique symbol = Symbol('loghour.openNativeStream')

/** Where a consumer counts a whole OTLP logs request in one native call (src/otlp.ts). */
export const COUNT_OTLP: unique symbol = Symbol('loghour.countOtlp')
export type NativeOtlpCounts = Binding.NativeOtlpCounts

/** @internal the consumer's answer without its groups (the live page's each second). */
export const STATS_WITHOUT_GROUPS: unique symbol = Symbol('loghour.statsWithoutGroups')

/** How a native stream frames records: the consumer's own, or `json-batch` for arrays of them. */
export type NativeFraming = 'lines' | 'json-stream' | 'json-batch'

/** What reads input without a `Writable` in between (the TCP server, `loghour analyze`) needs. */
export interface LineSink {
  [OPEN_NATIVE_STREAM](framing?: NativeFraming, ownCounts?: boolean): NativeLineStream
  /** How its streams read records (`format: 'auto'`: each decides). */
  readonly options: Readonly<ReadingOptions>
}
