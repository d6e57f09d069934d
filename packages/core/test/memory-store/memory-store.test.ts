// Tests for the memory store beyond the shared store contract.
import { HOUR_MILLIS, MemoryStore } from '@meterkit/core';
import { keyIdOf, MAX_RECORD_QUANTITY } from '@meterkit/core/store';
import { describeUsageStoreContract } from '@meterkit/core/testing/vitest';
import { expect, it } from 'vitest';

describeUsageStoreContract('MemoryStore', () => new MemoryStore());

const H0 = Date.UTC(2026, 10, 26, 10);
const key = keyIdOf({ productCode: 'prod-1', dimension: 'api_calls', customerIdentifier: 'cust-a' });

it('keeps its running open totals exact when sealing carries an overflow into the next hour', async () => {
  const store = new MemoryStore();
  await store.addDeltas([{ keyId: key, hourStart: H0, quantity: MAX_RECORD_QUANTITY + 5 }]);
  await store.sealClosedHours(H0 + HOUR_MILLIS, 10);
  const stats = await store.stats();
  expect([stats.openKeys, stats.openUnits]).toEqual([1, 5]);
});
