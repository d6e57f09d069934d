export { backoffMillis } from './backoff.js';
export { type BatchLimits, planBatches } from './batching.js';
export {
  CachedCustomerRegistry,
  type CachedCustomerRegistryOptions,
  customerFromAccount,
} from './cached-registry.js';
export { type Clock, systemClock, systemTimers, type TimerHandle, type Timers } from './clock.js';
export { type CustomerRef, type LegacyCustomer, type LicenseCustomer, redact } from './customer.js';
export type {
  CustomerRegistry,
  RegisteredCustomer,
  RegistrationInput,
  SubscriptionChange,
  SubscriptionState,
} from './customer-registry.js';
export type { DispatchCounts } from './dispatcher.js';
export { createMeteringEngine, type EngineStats, type FlushReport, MeteringEngine } from './engine.js';
export {
  isMeteringError,
  MeteringConfigurationError,
  MeteringError,
  type MeteringErrorCode,
  MeteringStoreError,
  MeteringTimeoutError,
} from './errors.js';
export {
  type ExportCallOutcome,
  MeteringEventEmitter,
  type MeteringEventName,
  type MeteringEvents,
  type MeteringListener,
  type UsageRejectionReason,
  usageRejectionReasons,
} from './events.js';
export { formatHour, HOUR_MILLIS, hourStartOf, monthEndCutoff } from './hours.js';
export { consoleLogger, type MeteringLogger, silentLogger } from './logger.js';
export { MemoryRegistry } from './memory-registry.js';
export { MemoryStore, type MemoryStoreOptions } from './memory-store.js';
export { describeValue, withErrorCode } from './messages.js';
export {
  assertDimension,
  type MeteringOptions,
  meteringOptionKeys,
  parseOptions,
  type ResolvedMeteringOptions,
  splitAdapterOptions,
} from './options.js';
export { type PinoLike, pinoLogger } from './pino-logger.js';
export { SlidingWindowLimiter } from './rate-limiter.js';
export {
  BILLABLE_STATES,
  compareEntries,
  entryFromJson,
  entryWithChange,
  linkedEntry,
  matchesFilter,
  registeredEntry,
  registryKeyOf,
  subscribedSince,
} from './registry-entries.js';
export { checkRule, type RuleName, serviceRules } from './service-rules.js';
export {
  exitCodeFor,
  UNSENT_USAGE_EXIT_CODE,
  type UsageLeftAtShutdown,
} from './shutdown-report.js';
export type { ExportResponse, RecordOutcome, SinkOptionDefaults, UsageSink } from './sink.js';
export type {
  AuditEntry,
  DeadLetter,
  DeadLetterReason,
  OutboxEntry,
  OverflowCarry,
  SealResult,
  Settlement,
  SettleResult,
  StoreStats,
  UsageDelta,
  UsageStore,
} from './store.js';
export type { GateVerdict, HeldUsage } from './subscription-gate.js';
export { TALLY_SPILL_AT, Tally, type TallySettings } from './tally.js';
export {
  keyFromId,
  keyIdFor,
  keyIdOf,
  MAX_RECORD_QUANTITY,
  recordIdOf,
  sealRecord,
  type UsageKey,
  type UsageRecord,
} from './usage-key.js';
export {
  checkTags,
  decodeAllocations,
  type EncodedAllocations,
  encodeAllocations,
  encodeAllocationsOf,
  MAX_ALLOCATION_BYTES_PER_RECORD,
  MAX_ALLOCATIONS_PER_RECORD,
  MAX_TAG_KEY_LENGTH,
  MAX_TAG_KEYS_PER_RECORD,
  MAX_TAG_VALUE_LENGTH,
  MAX_TAGS_PER_ALLOCATION,
  type SealedAllocations,
  sealAllocations,
  TAG_PATTERN,
  tagSetIdOf,
  tagSetIdOfTags,
  tagsOfSetId,
  type UsageAllocation,
  type UsageTag,
  type UsageTags,
} from './usage-tags.js';
export { type WinstonLike, winstonLogger } from './winston-logger.js';
