import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BatchMeterUsageCommand, MarketplaceMeteringClient } from '@aws-sdk/client-marketplace-metering';
import { type CustomerRef, HOUR_MILLIS, MemoryStore, type UsageStore, type UsageTags } from '@meterkit/core';
import { RedisStore } from '@meterkit/redis';
import { SqliteStore } from '@meterkit/sqlite';
import { testRedis, uniquePrefix } from '@meterkit/test-support/redis';
import { afterEach, describe, expect, it } from 'vitest';
import { CREDENTIALS, type Harness, licenseCustomer, START, startHarness } from './support/harness.js';

const redis = await testRedis();

let h: Harness | undefined;
let dir: string | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

const STORES: [string, () => UsageStore][] = [
  ['memory', () => new MemoryStore()],
  ...(redis.url === undefined
    ? []
    : [
        ['redis', () => new RedisStore({ url: redis.url as string, keyPrefix: uniquePrefix('alloc') })] as [
          string,
          () => UsageStore,
        ],
      ]),
  [
    'sqlite',
    () => {
      dir = mkdtempSync(join(tmpdir(), 'meterkit-alloc-'));
      return new SqliteStore({ filename: join(dir, 'usage.sqlite') });
    },
  ],
];

/** Allocated units per "customer dimension tags" as the emulator billed them; checks each record's sum on the way. */
function billedAllocations(harness: Harness): Map<string, number> {
  const totals = new Map<string, number>();
  for (const record of harness.emulator.ledger.records()) {
    const allocations = record.allocations ?? [{ AllocatedUsageQuantity: record.quantity }];
    expect(allocations.reduce((sum, a) => sum + a.AllocatedUsageQuantity, 0)).toBe(record.quantity);
    for (const allocation of allocations) {
      const tags = (allocation.Tags ?? []).map((t) => `${t.Key}=${t.Value}`).join(',');
      const key = `${record.licenseArn} ${record.dimension} ${tags}`;
      totals.set(key, (totals.get(key) ?? 0) + allocation.AllocatedUsageQuantity);
    }
  }
  return totals;
}

function record(harness: Harness, customer: CustomerRef, quantity: number, tags?: UsageTags): void {
  if (!harness.engine.record(customer, 'requests', quantity, undefined, tags))
    throw new Error('record() counted nothing');
}

describe.each(STORES)('usage allocations through the SDK to the emulator (%s store)', (_name, makeStore) => {
  it('bills one record per key and hour whose allocations sum to it, and each tag set what was recorded', async () => {
    // Prepare
    h = await startHarness({ engine: { store: makeStore() } });
    const buyer = licenseCustomer(1);
    record(h, buyer, 3, { project: 'alpha' });
    record(h, buyer, 4);
    record(h, buyer, 5, { team: 'ops', project: 'beta' });
    record(h, buyer, 6, { project: 'beta', team: 'ops' });
    record(h, licenseCustomer(2), 7, { project: 'alpha' });
    // Act: the first response is lost, so the identical record (allocations included) is sent again.
    h.emulator.control.scheduleFaults({ fault: 'drop-response', operation: 'BatchMeterUsage' });
    await h.closeHour();
    const report = await h.flushAll();
    // Assess
    expect(report.pending).toBe(0);
    const records = h.emulator.ledger.records();
    expect(records.map((r) => [r.licenseArn, r.quantity]).sort()).toEqual(
      [
        [buyer.licenseArn, 18],
        [licenseCustomer(2).licenseArn, 7],
      ].sort(),
    );
    expect(records.every((r) => r.conflictingResends === 0 && r.hourStartMillis === START)).toBe(true);
    expect(records.some((r) => r.identicalResends > 0)).toBe(true);
    expect(Object.fromEntries(billedAllocations(h))).toEqual({
      [`${buyer.licenseArn} requests `]: 4,
      [`${buyer.licenseArn} requests project=alpha`]: 3,
      [`${buyer.licenseArn} requests project=beta,team=ops`]: 11,
      [`${licenseCustomer(2).licenseArn} requests project=alpha`]: 7,
    });
    expect(h.events('record.dead-lettered')).toEqual([]);
  });

  it('carries the allocations of a record refused as DuplicateRecord into the next hour', async () => {
    // Prepare: another sender bills the key and hour first.
    h = await startHarness({ engine: { store: makeStore() } });
    const buyer = licenseCustomer(1) as Required<Pick<CustomerRef, 'awsAccountId' | 'licenseArn'>>;
    const other = new MarketplaceMeteringClient({
      endpoint: h.emulator.endpoint,
      region: 'us-east-1',
      credentials: CREDENTIALS,
    });
    await other.send(
      new BatchMeterUsageCommand({
        UsageRecords: [
          {
            Timestamp: new Date(START),
            CustomerAWSAccountId: buyer.awsAccountId,
            LicenseArn: buyer.licenseArn,
            Dimension: 'requests',
            Quantity: 99,
          },
        ],
      }),
    );
    other.destroy();
    record(h, buyer, 2, { project: 'alpha' });
    record(h, buyer, 1);
    // Act
    await h.closeHour();
    await h.flushAll();
    await h.closeHour();
    await h.flushAll();
    // Assess
    expect(h.events('record.carried-forward')).toHaveLength(1);
    const carried = h.emulator.ledger.records().find((r) => r.hourStartMillis === START + HOUR_MILLIS);
    expect(carried?.quantity).toBe(3);
    expect(carried?.allocations).toEqual([
      { AllocatedUsageQuantity: 1 },
      { AllocatedUsageQuantity: 2, Tags: [{ Key: 'project', Value: 'alpha' }] },
    ]);
  });
});
