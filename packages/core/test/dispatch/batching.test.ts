import { HOUR_MILLIS, type UsageRecord } from '@meterkit/core';
import { keyIdOf, sealRecord } from '@meterkit/core/store';
import { describe, expect, it } from 'vitest';
import { planBatches } from '../../src/dispatch/batching.js';

const H0 = Date.UTC(2026, 10, 26, 10);
const rec = (product: string, customer: string, hour = 0): UsageRecord =>
  sealRecord(
    keyIdOf({ productCode: product, dimension: 'api_calls', customerIdentifier: customer }),
    H0 + hour * HOUR_MILLIS,
    1,
  );
const limits = { maxRecords: 2, maxBytes: 1_000, overheadBytes: 100, recordBytes: () => 100 };

describe('planBatches', () => {
  it('keeps each product in its own batches, in input order', () => {
    const records = [rec('p1', 'a'), rec('p2', 'b'), rec('p1', 'c'), rec('p1', 'd', 1)];
    expect(planBatches(records, limits).map((b) => b.map((r) => r.key.customerIdentifier))).toEqual([
      ['a', 'c'],
      ['d'],
      ['b'],
    ]);
  });

  it('closes a batch before it would reach the byte limit', () => {
    const records = ['a', 'b', 'c'].map((c) => rec('p1', c));
    const batches = planBatches(records, { ...limits, maxRecords: 25, maxBytes: 301 });
    expect(batches.map((b) => b.length)).toEqual([2, 1]);
  });

  it('still sends a record larger than the limit on its own rather than dropping it', () => {
    const batches = planBatches([rec('p1', 'a'), rec('p1', 'b')], { ...limits, recordBytes: () => 5_000 });
    expect(batches.map((b) => b.length)).toEqual([1, 1]);
  });

  it('never puts legacy and Concurrent Agreements customers of one product in the same call', () => {
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
    const batches = planBatches([rec('p1', 'a'), license, rec('p1', 'b')], { ...limits, maxRecords: 25 });
    expect(batches.map((b) => b.map((r) => r.key.customerIdentifier ?? r.key.awsAccountId))).toEqual([
      ['a', 'b'],
      ['111122223333'],
    ]);
  });

  it('plans nothing for no records', () => {
    expect(planBatches([], limits)).toEqual([]);
  });
});
