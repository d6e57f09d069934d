import type { UsageRecord } from '../model/usage-key.js';

export interface BatchLimits {
  readonly maxRecords: number;
  /** Exclusive bound on the batch's estimated serialized size. */
  readonly maxBytes: number;
  /** Fixed bytes of a request around its records. */
  readonly overheadBytes: number;
  readonly recordBytes: (record: UsageRecord) => number;
}

/**
 * What may share one call: one product (the service's rule), and one kind of customer id, because a legacy call sends
 * `ProductCode` at request level while a Concurrent Agreements call must not send it at all. Grouping here, rather than
 * splitting inside the sink, keeps one call per rate-limit slot.
 */
function callGroupOf(record: UsageRecord): string {
  return `${record.key.licenseArn === undefined ? 'C' : 'L'}:${record.key.productCode}`;
}

/**
 * Groups records into calls: one product and one kind of customer id per call, at most `maxRecords` records and fewer
 * than `maxBytes` bytes each, keeping the input's order (oldest first) within each group.
 */
export function planBatches(records: readonly UsageRecord[], limits: BatchLimits): UsageRecord[][] {
  const groups = new Map<string, UsageRecord[]>();
  for (const record of records) {
    const key = callGroupOf(record);
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [record]);
    else group.push(record);
  }
  const batches: UsageRecord[][] = [];
  for (const group of groups.values()) {
    let batch: UsageRecord[] = [];
    let bytes = limits.overheadBytes;
    for (const record of group) {
      const size = limits.recordBytes(record);
      if (batch.length > 0 && (batch.length >= limits.maxRecords || bytes + size >= limits.maxBytes)) {
        batches.push(batch);
        batch = [];
        bytes = limits.overheadBytes;
      }
      batch.push(record);
      bytes += size;
    }
    if (batch.length > 0) batches.push(batch);
  }
  return batches;
}
