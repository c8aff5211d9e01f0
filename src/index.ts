/**
 * loghour: at which hour of the working day did the most distinct users hit server errors?
 * @packageDocumentation
 */
export { createConsumer, listen, LogConsumer, LogInput, type LogConsumerEvents } from './consumer.js'
export { LogServer, type ConnectionSummary, type ListenOptions, type LogServerEvents, type ServerCounters } from './server.js'
export { SnapshotError } from './stores/snapshot.js'
export type { FlushInfo, StoreReset } from './stores/store.js'
export { createScanner, elementHash, LogScanner, type ScannerOptions, type ScanResult } from './scanner.js'
export {
  DEFAULT_CONSUMER_OPTIONS,
  OptionError,
  type ConsumerOptions,
  type FieldNames,
  type ResolvedConsumerOptions,
  type StoreOption,
} from './options.js'
export { INVALID_REASONS, peakOf, type InvalidReason, type LineCounts, type Stats } from './stats.js'
export { renderStats } from './render.js'
export { demoLines, MAX_DEMO_LINES, type DemoPattern } from './demo.js'
