/**
 * `@meterkit/core/store`: for authors of a UsageStore or CustomerRegistry: the contract's types, how records are
 * sealed and identified, allocation encoding, and the registry rules every registry applies. Stores prove themselves
 * with the suites in `@meterkit/core/testing/vitest`.
 */
export { isMeteringError, MeteringError, MeteringStoreError } from '../model/errors.js';
export {
  keyFromId,
  keyIdFor,
  keyIdOf,
  MAX_RECORD_QUANTITY,
  recordIdOf,
  sealRecord,
  type UsageKey,
  type UsageRecord,
} from '../model/usage-key.js';
export {
  decodeAllocations,
  type EncodedAllocations,
  encodeAllocations,
  encodeAllocationsOf,
  type SealedAllocations,
  sealAllocations,
  tagSetIdOf,
  tagSetIdOfTags,
  tagsOfSetId,
  type UsageAllocation,
  type UsageTag,
} from '../model/usage-tags.js';
export type {
  CustomerRegistry,
  RegisteredCustomer,
  RegistrationInput,
  SubscriptionChange,
  SubscriptionState,
} from '../registry/customer-registry.js';
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
} from '../registry/registry-entries.js';
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
} from './usage-store.js';
