// Grouping records into calls: one group per call, within the record and byte limits, order kept.
import { HOUR_MILLIS, type UsageRecord } from '@meterkit/core';
import { keyIdOf, sealRecord } from '@meterkit/core/store';
import { describe, expect, it } from 'vitest';
import { groupIntoBatches } from '../../src/sink/group-into-batches.js';

const H0 = Date.UTC(2026, 10, 26, 10);
const rec = (product: string, customer: string, hour = 0): UsageRecord =>
  sealRecord(
    keyIdOf({ productCode: product, dimension: 'api_calls', customerIdentifier: customer }),
    H0 + hour * HOUR_MILLIS,
    1,
  );
/** Grouped by product and kind of customer id, as BatchMeterUsage calls are. */
const groupOf = (r: UsageRecord) => `${r.key.licenseArn === undefined ? 'C' : 'L'}:${r.key.productCode}`;
const limits = { groupOf, maxRecords: 2, maxBytes: 1_000, overheadBytes: 100, recordBytes: () => 100 };

describe('groupIntoBatches', () => {
  it('keeps each group in its own batches, in input order', () => {
    const records = [rec('p1', 'a'), rec('p2', 'b'), rec('p1', 'c'), rec('p1', 'd', 1)];
    expect(groupIntoBatches(records, limits).map((b) => b.map((r) => r.key.customerIdentifier))).toEqual([
      ['a', 'c'],
      ['d'],
      ['b'],
    ]);
  });

  it('closes a batch before it would reach the byte limit', () => {
    const records = ['a', 'b', 'c'].map((c) => rec('p1', c));
    const batches = groupIntoBatches(records, { ...limits, maxRecords: 25, maxBytes: 301 });
    expect(batches.map((b) => b.length)).toEqual([2, 1]);
  });

  it('still sends a record larger than the limit on its own rather than dropping it', () => {
    const batches = groupIntoBatches([rec('p1', 'a'), rec('p1', 'b')], {
      ...limits,
      recordBytes: () => 5_000,
    });
    expect(batches.map((b) => b.length)).toEqual([1, 1]);
  });

  it('never puts records of two groups in the same call', () => {
    const license = sealRecord(
      keyIdOf({
        productCode: 'p1',
        dimension: 'api_calls',
        awsAccountId: '111122223333',
        licenseArn: 'arn:aws:license-manager::111122223333:license:l-0123456789abcdef',
      }),
      H0,
      1,
    );
    const batches = groupIntoBatches([rec('p1', 'a'), license, rec('p1', 'b')], {
      ...limits,
      maxRecords: 25,
    });
    expect(batches.map((b) => b.map((r) => r.key.customerIdentifier ?? r.key.awsAccountId))).toEqual([
      ['a', 'b'],
      ['111122223333'],
    ]);
  });

  it('plans nothing for no records', () => {
    expect(groupIntoBatches([], limits)).toEqual([]);
  });
});
