import type { BatchMeterUsageCommandInput } from '@aws-sdk/client-marketplace-metering';
import type { UsageRecord } from '@meterkit/core';
import { toWireRecord } from './wire-record.js';

/** One BatchMeterUsage call: records of one product that all identify their customer the same way. */
export interface PlannedCall {
  readonly productCode: string;
  /** `license`: Concurrent Agreements (no request-level ProductCode). `legacy`: CustomerIdentifier + ProductCode. */
  readonly identity: 'license' | 'legacy';
  readonly records: readonly UsageRecord[];
}

/**
 * Splits a batch into the calls the service accepts. `ProductCode` is request-level and must be sent for legacy records
 * but never with a `LicenseArn`, so a batch mixing both kinds (a product migrating to Concurrent Agreements) becomes
 * two calls. The dispatcher already sends one product per batch; grouping by product here too keeps that rule even
 * if it did not. Order inside each call follows the batch.
 */
export function planCalls(records: readonly UsageRecord[]): PlannedCall[] {
  const calls = new Map<
    string,
    { productCode: string; identity: PlannedCall['identity']; records: UsageRecord[] }
  >();
  for (const record of records) {
    const identity = record.key.licenseArn !== undefined ? 'license' : 'legacy';
    const group = `${identity}\n${record.key.productCode}`;
    const call = calls.get(group);
    if (call === undefined)
      calls.set(group, { productCode: record.key.productCode, identity, records: [record] });
    else call.records.push(record);
  }
  return [...calls.values()];
}

/** The request of one planned call. */
export function buildBatchInput(call: PlannedCall): BatchMeterUsageCommandInput {
  const UsageRecords = call.records.map(toWireRecord);
  return call.identity === 'legacy' ? { ProductCode: call.productCode, UsageRecords } : { UsageRecords };
}
