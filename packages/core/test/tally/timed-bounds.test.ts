// Usage recorded for another hour (`record(…, at)`) counts against maxLiveKeys like any other key.
import type { UsageRejectionReason } from '@meterkit/core';
import { describe, expect, it } from 'vitest';
import { PRODUCT, setup } from '../helpers.js';

const customer = (n: number) => ({ customerIdentifier: `cust-${n}`, productCode: PRODUCT });

describe('timed usage under maxLiveKeys', () => {
  it("refuses a new key for another hour once the bound is reached under 'reject'", () => {
    const ctx = setup({ maxLiveKeys: 1_000, onMaxLiveKeys: 'reject' });
    const seen: UsageRejectionReason[] = [];
    ctx.engine.events.on('usage.rejected', (e) => seen.push(e.reason));
    const lastHour = ctx.clock.now() - 3_600_000;
    let counted = 0;
    for (let i = 0; i < 3_000; i++)
      if (ctx.engine.record(customer(i), 'api_calls', 1, lastHour)) counted += 1;
    expect(counted).toBe(1_000);
    expect(seen.length).toBe(2_000);
    expect(new Set(seen)).toEqual(new Set(['max-live-keys']));
  });

  it('still counts a key already held for that hour at the bound', () => {
    const ctx = setup({ maxLiveKeys: 2, onMaxLiveKeys: 'reject' });
    const lastHour = ctx.clock.now() - 3_600_000;
    ctx.engine.record(customer(1), 'api_calls', 1, lastHour);
    ctx.engine.record(customer(2), 'api_calls', 1, lastHour);
    expect(ctx.engine.record(customer(1), 'api_calls', 1, lastHour)).toBe(true);
  });

  it('shares the bound between keys of the current hour and keys of other hours', () => {
    const ctx = setup({ maxLiveKeys: 2, onMaxLiveKeys: 'reject' });
    ctx.engine.record(customer(1), 'api_calls');
    ctx.engine.record(customer(2), 'api_calls', 1, ctx.clock.now() - 3_600_000);
    expect(ctx.engine.record(customer(3), 'api_calls')).toBe(false);
    expect(ctx.engine.record(customer(3), 'api_calls', 1, ctx.clock.now() - 3_600_000)).toBe(false);
  });

  it("checkpoints early instead of growing without bound under 'checkpoint'", async () => {
    const ctx = setup({ maxLiveKeys: 10, onMaxLiveKeys: 'checkpoint' });
    let full = 0;
    ctx.engine.events.on('tally.full', () => {
      full += 1;
    });
    const lastHour = ctx.clock.now() - 3_600_000;
    for (let i = 0; i < 11; i++) expect(ctx.engine.record(customer(i), 'api_calls', 1, lastHour)).toBe(true);
    expect(full).toBe(1);
  });
});
