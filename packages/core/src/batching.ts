import type { UsageRecord } from './usage-key.js';

export interface BatchLimits {
  readonly maxRecords: number;
  /** Exclusive bound on the batch's estimated serialized size. */
  readonly maxBytes: number;
  /** Fixed bytes of a request around its records. */
  readonly overheadBytes: number;
  readonly recordBytes: (record: UsageRecord) => number;
}

/**
 * Groups records into calls: one product per call (the service's rule), at most `maxRecords` records and fewer than
 * `maxBytes` bytes each, keeping the input's order (oldest first) within each product.
 */
export function planBatches(records: readonly UsageRecord[], limits: BatchLimits): UsageRecord[][] {
  const byProduct = new Map<string, UsageRecord[]>();
  for (const record of records) {
    const group = byProduct.get(record.key.productCode);
    if (group === undefined) byProduct.set(record.key.productCode, [record]);
    else group.push(record);
  }
  const batches: UsageRecord[][] = [];
  for (const group of byProduct.values()) {
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
