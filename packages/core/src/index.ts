/**
 * `@meterkit/core`: what an app needs to meter usage: the engine and its options, the memory store and registries,
 * loggers, events and errors. Store, sink and adapter authors import from `@meterkit/core/store`,
 * `@meterkit/core/sink` and `@meterkit/core/adapter`; HTTP adapters from `@meterkit/core/http`.
 */
export type { DispatchCounts } from './dispatch/dispatcher.js';
export type { EngineStats, FlushReport } from './engine/flush-report.js';
export { createMeteringEngine, MeteringEngine } from './engine/metering-engine.js';
export type { MeteringOptions, ResolvedMeteringOptions } from './engine/options.js';
export {
  exitCodeFor,
  UNSENT_USAGE_EXIT_CODE,
  type UsageLeftAtShutdown,
} from './engine/shutdown-report.js';
export { consoleLogger, type MeteringLogger, silentLogger } from './logging/logger.js';
export { type PinoLike, pinoLogger } from './logging/pino-logger.js';
export { type WinstonLike, winstonLogger } from './logging/winston-logger.js';
export { MemoryStore, type MemoryStoreOptions } from './memory-store/memory-store.js';
export type { CustomerRef, LegacyCustomer, LicenseCustomer } from './model/customer.js';
export {
  isMeteringError,
  MeteringConfigurationError,
  MeteringError,
  type MeteringErrorCode,
  MeteringStoreError,
} from './model/errors.js';
export {
  type ExportCallOutcome,
  MeteringEventEmitter,
  type MeteringEventName,
  type MeteringEvents,
  type MeteringListener,
  type UsageRejectionReason,
  usageRejectionReasons,
} from './model/events.js';
export type { UsageKey, UsageRecord } from './model/usage-key.js';
export type { UsageAllocation, UsageTag, UsageTags } from './model/usage-tags.js';
export {
  CachedCustomerRegistry,
  type CachedCustomerRegistryOptions,
  customerFromAccount,
} from './registry/cached-registry.js';
export type {
  CustomerRegistry,
  RegisteredCustomer,
  RegistrationInput,
  SubscriptionChange,
  SubscriptionState,
} from './registry/customer-registry.js';
export { MemoryRegistry } from './registry/memory-registry.js';
export type { ExportResponse, RecordOutcome, UsageSink } from './sink/usage-sink.js';
export type {
  AuditEntry,
  DeadLetter,
  DeadLetterReason,
  StoreStats,
  UsageStore,
} from './store/usage-store.js';
export type { GateVerdict, HeldUsage } from './tally/subscription-gate.js';
export { type Clock, systemClock, systemTimers, type TimerHandle, type Timers } from './time/clock.js';
export { formatHour, HOUR_MILLIS, hourStartOf, monthEndCutoff } from './time/hours.js';
