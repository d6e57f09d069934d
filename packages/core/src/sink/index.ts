/**
 * `@meterkit/core/sink`: for authors of a UsageSink (the AWS ones live in `@meterkit/aws-marketplace`): the contract,
 * the records it sends, the service's rules on identifiers, a helper that groups records into calls, and the backoff
 * the dispatcher uses.
 */
export { backoffMillis } from '../dispatch/backoff.js';
export { type CustomerRef, type LegacyCustomer, type LicenseCustomer, redact } from '../model/customer.js';
export { checkRule, type RuleName, serviceRules } from '../model/service-rules.js';
export { MAX_RECORD_QUANTITY, type UsageKey, type UsageRecord } from '../model/usage-key.js';
export { encodeAllocations, type UsageAllocation, type UsageTag } from '../model/usage-tags.js';
export { type BatchRules, groupIntoBatches } from './group-into-batches.js';
export type { ExportResponse, RecordOutcome, SinkOptionDefaults, UsageSink } from './usage-sink.js';
