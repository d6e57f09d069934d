// Tagged usage lives under the same bounds as untagged usage: maxLiveKeys and exact sums past 2^53.

import { MeteringEventEmitter } from '@meterkit/core';
import { MAX_RECORD_QUANTITY, type UsageDelta } from '@meterkit/core/store';
import { describe, expect, it } from 'vitest';
import { Tally } from '../../src/tally/tally.js';
import { alice, PRODUCT, setup } from '../helpers.js';

const customer = (n: number) => ({ customerIdentifier: `cust-${n}`, productCode: PRODUCT });

describe('tagged usage under maxLiveKeys', () => {
  it("refuses a new tag set once the bound is reached under 'reject'", () => {
    const ctx = setup({ maxLiveKeys: 2, onMaxLiveKeys: 'reject' });
    expect(ctx.engine.record(customer(1), 'api_calls', 1, undefined, { project: 'a' })).toBe(true);
    expect(ctx.engine.record(customer(1), 'api_calls', 1, undefined, { project: 'b' })).toBe(true);
    expect(ctx.engine.record(customer(1), 'api_calls', 1, undefined, { project: 'c' })).toBe(false);
    // A tag set already held still counts at the bound.
    expect(ctx.engine.record(customer(1), 'api_calls', 1, undefined, { project: 'a' })).toBe(true);
  });

  it("checkpoints early instead of growing without bound under 'checkpoint', keeping every tagged unit", async () => {
    const ctx = setup({ maxLiveKeys: 10, onMaxLiveKeys: 'checkpoint' });
    let full = 0;
    ctx.engine.events.on('tally.full', () => {
      full += 1;
    });
    for (let i = 0; i < 11; i++)
      expect(ctx.engine.record(customer(i), 'api_calls', 1, undefined, { project: 'a' })).toBe(true);
    expect(full).toBe(1);
    await ctx.engine.checkpoint();
    expect((await ctx.engine.stats()).openUnits).toBe(11);
  });
});

describe('exact sums of tagged usage in the tally', () => {
  it('keeps every unit of one tag set summing past 2^53 within one checkpoint, under its tags', async () => {
    const events = new MeteringEventEmitter(() => undefined);
    const tally = new Tally(
      { productCode: PRODUCT, dimensions: undefined, maxLiveKeys: 10, onMaxLiveKeys: 'reject' },
      events,
      Date.UTC(2026, 10, 26, 10),
      () => undefined,
    );
    // 2^53 + 2,143,289,345 units: odd and above 2^53, so a double cannot hold the total.
    for (let i = 0; i < 4_194_305; i++)
      tally.record(alice, 'api_calls', MAX_RECORD_QUANTITY, undefined, { project: 'alpha' });
    tally.record(alice, 'api_calls', 2, undefined, { project: 'alpha' });
    const drained: UsageDelta[] = [];
    await tally.drain(
      1_000,
      (deltas) => drained.push(...deltas),
      async () => undefined,
    );
    for (const delta of drained) {
      expect(Number.isSafeInteger(delta.quantity)).toBe(true);
      expect(delta.tags).toBe('[["project","alpha"]]');
    }
    const sum = drained.reduce((total, delta) => total + BigInt(delta.quantity), 0n);
    expect(sum).toBe(4_194_305n * BigInt(MAX_RECORD_QUANTITY) + 2n);
  });
});
