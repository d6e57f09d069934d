import { MemoryRegistry } from '@meterkit/core';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type Harness,
  legacyCustomer,
  licenseCustomer,
  PRODUCT,
  START,
  startHarness,
} from './support/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

describe('zero-usage heartbeats through the SDK to the emulator', () => {
  it('bills a 0 for every subscribed customer and dimension without usage, and the usage where there was some', async () => {
    // Prepare
    const registry = new MemoryRegistry();
    const used = licenseCustomer(1);
    const idle = legacyCustomer(2, PRODUCT);
    const notYetSubscribed = licenseCustomer(3);
    for (const customer of [used, idle, notYetSubscribed]) {
      await registry.register({ customer, productCode: PRODUCT, at: START - 60_000 });
    }
    for (const customer of [used, idle]) {
      await registry.setState(customer, { state: 'subscribed', at: START, source: 'sns' });
    }
    h = await startHarness({
      engine: { registry, dimensions: ['requests', 'storage'], productCode: PRODUCT },
    });
    h.record(used, 'requests', 5);
    // Act
    await h.closeHour();
    await h.flushAll();
    // Assess
    const billed = h.emulator.ledger
      .records()
      .map((r) => [
        r.customerAWSAccountId ?? r.customerIdentifier,
        r.dimension,
        r.quantity,
        r.hourStartMillis,
      ])
      .sort();
    expect(billed).toEqual(
      [
        [used.awsAccountId, 'requests', 5, START],
        [used.awsAccountId, 'storage', 0, START],
        [idle.customerIdentifier, 'requests', 0, START],
        [idle.customerIdentifier, 'storage', 0, START],
      ].sort(),
    );
    expect(h.events('record.dead-lettered')).toEqual([]);
    expect(h.emulator.ledger.records().every((r) => r.conflictingResends === 0)).toBe(true);
  });
});
