/** How sealed records form BatchMeterUsage calls: which may share one, how many, how big, and each call's request. */
import type { BatchMeterUsageCommandInput } from '@aws-sdk/client-marketplace-metering';
import type { UsageRecord } from '@meterkit/core';
import { groupIntoBatches } from '@meterkit/core/sink';
import { estimateRecordBytes } from './record-size.js';
import { toWireRecord } from './wire-record.js';

/** BatchMeterUsage takes at most 25 records per call. */
export const MAX_RECORDS_PER_CALL = 25;
/** A BatchMeterUsage request must stay under 1 MB. */
export const MAX_CALL_BYTES = 1_000_000;
/** Bytes of a request around its records (`{"ProductCode":"…","UsageRecords":[]}`, the longest product code). */
const REQUEST_OVERHEAD_BYTES = 320;

/**
 * What may share one call: one product (the service's rule), and one kind of customer id, because a legacy call sends
 * `ProductCode` at request level while a Concurrent Agreements call must not send it at all (a product migrating to
 * Concurrent Agreements has both kinds).
 */
function callGroupOf(record: UsageRecord): string {
  return `${record.key.licenseArn === undefined ? 'legacy' : 'license'}\n${record.key.productCode}`;
}

/**
 * Groups records into BatchMeterUsage calls: one product and one kind of customer id per call, at most 25 records and
 * under 1 MB by {@link estimateRecordBytes}, keeping the given order (oldest first) within each group.
 */
export function planCalls(records: readonly UsageRecord[]): UsageRecord[][] {
  return groupIntoBatches(records, {
    groupOf: callGroupOf,
    maxRecords: MAX_RECORDS_PER_CALL,
    maxBytes: MAX_CALL_BYTES,
    overheadBytes: REQUEST_OVERHEAD_BYTES,
    recordBytes: estimateRecordBytes,
  });
}

/** True when the records can go as one call: one group, at most 25 (the byte bound is the planner's to keep). */
export function isOneCall(records: readonly UsageRecord[]): boolean {
  const [first] = records;
  if (first === undefined || records.length > MAX_RECORDS_PER_CALL) return false;
  const group = callGroupOf(first);
  return records.every((record) => callGroupOf(record) === group);
}

/** The request of one call (records of one group, as {@link planCalls} makes them). */
export function buildBatchInput(records: readonly UsageRecord[]): BatchMeterUsageCommandInput {
  const UsageRecords = records.map(toWireRecord);
  const [first] = records;
  // A legacy call names its product at request level; a Concurrent Agreements call never does.
  return first === undefined || first.key.licenseArn !== undefined
    ? { UsageRecords }
    : { ProductCode: first.key.productCode, UsageRecords };
}
