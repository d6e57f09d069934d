import { HOUR_MILLIS } from '@meterkit/core';
import type { FaultOptions } from '@meterkit/emulator';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type Harness,
  legacyCustomer,
  licenseCustomer,
  PRODUCT,
  recordMixedUsage,
  START,
  startHarness,
} from './support/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

/** Every key billed exactly what was recorded; one record per key and hour, stamped with the hour's start. */
function expectBilledAsRecorded(harness: Harness): void {
  expect(Object.fromEntries(harness.billedByKey())).toEqual(Object.fromEntries(harness.recorded));
  for (const billed of harness.emulator.ledger.records()) {
    expect(billed.timestampMillis).toBe(billed.hourStartMillis);
    // A conflicting resend would mean two quantities were sent for one key and hour.
    expect(billed.conflictingResends).toBe(0);
  }
  expect(harness.events('record.dead-lettered')).toEqual([]);
  expect(harness.events('record.carried-forward')).toEqual([]);
}

describe('engine → MarketplaceMeteringSink → emulator', () => {
  it('bills every key exactly what was recorded, one record per key and hour at the hour start', async () => {
    // Prepare
    h = await startHarness();
    recordMixedUsage(h, 40);
    await h.clock.advance(30 * 60_000);
    recordMixedUsage(h, 40, 1);
    // Act
    await h.closeHour();
    const report = await h.flushAll();
    // Assess
    expect(report.pending).toBe(0);
    expectBilledAsRecorded(h);
    expect(h.emulator.ledger.records()).toHaveLength(120);
    expect(new Set(h.emulator.ledger.records().map((r) => r.hourStartMillis))).toEqual(new Set([START]));
  });

  it('stays within the service quota: not one call is throttled while 600 records go out', async () => {
    h = await startHarness();
    recordMixedUsage(h, 200);
    await h.closeHour();
    await h.flushAll();
    expectBilledAsRecorded(h);
    expect(h.emulator.ledger.calls().filter((c) => c.statusCode !== 200)).toEqual([]);
  });

  it('bills two hours as two records per key, each stamped with its own hour', async () => {
    h = await startHarness();
    h.record(licenseCustomer(1), 'requests', 3);
    await h.clock.advanceTo(START + HOUR_MILLIS + 5 * 60_000);
    h.record(licenseCustomer(1), 'requests', 4);
    await h.closeHour();
    await h.flushAll();
    expect(h.emulator.ledger.records().map((r) => [r.hourStartMillis, r.quantity])).toEqual([
      [START, 3],
      [START + HOUR_MILLIS, 4],
    ]);
  });

  it('bills a product mixing legacy and Concurrent Agreements buyers through one call per kind', async () => {
    h = await startHarness();
    h.record(legacyCustomer(1, PRODUCT), 'requests', 5);
    h.record(licenseCustomer(1), 'requests', 6);
    await h.closeHour();
    await h.flushAll();
    expectBilledAsRecorded(h);
    const calls = h.emulator.ledger.calls().filter((c) => c.operation === 'BatchMeterUsage');
    expect(calls.map((c) => [c.statusCode, c.recordCount])).toEqual([
      [200, 1],
      [200, 1],
    ]);
  });
});

describe('under faults, once they stop and time moves on', () => {
  const faults: [string, FaultOptions][] = [
    ['throttling by quota', { quota: { BatchMeterUsage: 2 } }],
    ['throttling by probability', { throttleProbability: 0.4 }],
    ['internal errors (500)', { internalErrorProbability: 0.4 }],
    ['unprocessed records', { unprocessedProbability: 0.3 }],
    ['responses lost after commit', { dropResponseProbability: 0.4 }],
    ['latency', { latencyMillis: { min: 1, max: 15 } }],
    [
      'all of them together',
      {
        quota: { BatchMeterUsage: 3 },
        throttleProbability: 0.2,
        internalErrorProbability: 0.2,
        unprocessedProbability: 0.2,
        dropResponseProbability: 0.2,
        latencyMillis: { min: 0, max: 5 },
      },
    ],
  ];

  it.each(faults)(
    'bills every key exactly what was recorded, never a key and hour twice (%s)',
    async (_name, fault) => {
      // Prepare
      h = await startHarness({ emulator: { seed: 20261126, faults: fault } });
      recordMixedUsage(h, 60);
      await h.closeHour();
      // Act: a few rounds under faults, then the faults stop.
      for (let round = 0; round < 3; round++) await h.drive(h.engine.forceFlush({ timeoutMillis: 10_000 }));
      const faulty = h.emulator.ledger
        .calls()
        .filter((c) => c.fault !== undefined || (c.unprocessedCount ?? 0) > 0).length;
      h.emulator.control.replaceFaults({});
      const report = await h.flushAll();
      // Assess
      expect(report.pending).toBe(0);
      expectBilledAsRecorded(h);
      // Latency alone answers normally; every other setting must actually have hit some calls.
      if (Object.keys(fault).join() !== 'latencyMillis') expect(faulty).toBeGreaterThan(0);
    },
  );

  it('bills exactly once when identical resends come back DuplicateRecord and answers get lost', async () => {
    h = await startHarness({
      emulator: {
        seed: 5,
        identicalResendStatus: 'DuplicateRecord',
        faults: { dropResponseProbability: 0.5 },
      },
    });
    recordMixedUsage(h, 30);
    await h.closeHour();
    await h.drive(h.engine.forceFlush({ timeoutMillis: 10_000 }));
    h.emulator.control.replaceFaults({});
    await h.flushAll();
    expectBilledAsRecorded(h);
    expect(h.emulator.ledger.records().some((r) => r.identicalResends > 0)).toBe(true);
  });
});
