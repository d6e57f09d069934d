/** Groups records into calls under a service's limits, for sinks to build their `planBatches()` on. */
import type { UsageRecord } from '../model/usage-key.js';

/** How records may share one call of a service. */
export interface BatchRules {
  /** Records may share a call only with the same group (e.g. one product and one kind of customer id). @default one group */
  readonly groupOf?: (record: UsageRecord) => string;
  readonly maxRecords: number;
  /** Exclusive bound on a call's size in bytes, as counted by `overheadBytes` and `recordBytes`. @default no bound */
  readonly maxBytes?: number;
  /** Fixed bytes of a request around its records. @default 0 */
  readonly overheadBytes?: number;
  /** An upper bound of one record's size in the request. Required with `maxBytes`. */
  readonly recordBytes?: (record: UsageRecord) => number;
}

/**
 * Groups records into calls: one group per call, at most `maxRecords` records and fewer than `maxBytes` bytes each,
 * keeping the input's order (oldest first) within each group. A record too big to share a call goes alone rather
 * than being dropped. Any part of a batch is again a valid call, so a dispatcher may split one it had refused.
 */
export function groupIntoBatches(records: readonly UsageRecord[], rules: BatchRules): UsageRecord[][] {
  const { groupOf, maxRecords, maxBytes = Number.POSITIVE_INFINITY, overheadBytes = 0, recordBytes } = rules;
  const groups = new Map<string, UsageRecord[]>();
  for (const record of records) {
    const key = groupOf === undefined ? '' : groupOf(record);
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [record]);
    else group.push(record);
  }
  const batches: UsageRecord[][] = [];
  for (const group of groups.values()) {
    let batch: UsageRecord[] = [];
    let bytes = overheadBytes;
    for (const record of group) {
      const size = recordBytes === undefined ? 0 : recordBytes(record);
      if (batch.length > 0 && (batch.length >= maxRecords || bytes + size >= maxBytes)) {
        batches.push(batch);
        batch = [];
        bytes = overheadBytes;
      }
      batch.push(record);
      bytes += size;
    }
    if (batch.length > 0) batches.push(batch);
  }
  return batches;
}
