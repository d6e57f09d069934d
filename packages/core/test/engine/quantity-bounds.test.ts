// Per-call quantities are bounded by the service's per-record maximum, and the tally sums them exactly.

import { MeteringEventEmitter, type UsageRejectionReason } from '@meterkit/core';
import { MAX_RECORD_QUANTITY } from '@meterkit/core/store';
import { describe, expect, it } from 'vitest';
import { TALLY_SPILL_AT, Tally } from '../../src/tally/tally.js';
import { alice, PRODUCT, setup } from '../helpers.js';

function refusals(ctx: ReturnType<typeof setup>) {
  const seen: UsageRejectionReason[] = [];
  ctx.engine.events.on('usage.rejected', (e) => seen.push(e.reason));
  return seen;
}

describe('per-call quantity', () => {
  it('refuses 2,147,483,648 (one above the per-record maximum) as invalid-quantity', () => {
    const ctx = setup();
    const seen = refusals(ctx);
    expect(ctx.engine.record(alice, 'api_calls', MAX_RECORD_QUANTITY + 1)).toBe(false);
    expect(seen).toEqual(['invalid-quantity']);
  });

  it('refuses 2^53 - 1, which once became millions of hourly carry records', () => {
    const ctx = setup();
    const seen = refusals(ctx);
    expect(ctx.engine.record(alice, 'api_calls', Number.MAX_SAFE_INTEGER)).toBe(false);
    expect(seen).toEqual(['invalid-quantity']);
  });

  it('accepts exactly 2,147,483,647', () => {
    const ctx = setup();
    expect(ctx.engine.record(alice, 'api_calls', MAX_RECORD_QUANTITY)).toBe(true);
  });

  it('refuses an over-large quantity for another hour (`at`) too', () => {
    const ctx = setup();
    expect(ctx.engine.record(alice, 'api_calls', MAX_RECORD_QUANTITY + 1, ctx.clock.now() - 3_600_000)).toBe(
      false,
    );
  });
});

describe('exact sums in the tally', () => {
  it('keeps every unit when one key sums past 2^53 within one checkpoint', async () => {
    const events = new MeteringEventEmitter(() => undefined);
    const tally = new Tally(
      { productCode: PRODUCT, dimensions: undefined, maxLiveKeys: 10, onMaxLiveKeys: 'reject' },
      events,
      Date.UTC(2026, 10, 26, 10),
      () => undefined,
    );
    // 2^53 + 2,143,289,345 units: odd and above 2^53, so a double cannot hold the total.
    for (let i = 0; i < 4_194_305; i++) tally.record(alice, 'api_calls', MAX_RECORD_QUANTITY);
    tally.record(alice, 'api_calls', 2);
    const expected = 4_194_305n * BigInt(MAX_RECORD_QUANTITY) + 2n;
    let drained = 0n;
    await tally.drain(
      1_000,
      (deltas) => {
        for (const delta of deltas) {
          expect(Number.isSafeInteger(delta.quantity)).toBe(true);
          drained += BigInt(delta.quantity);
        }
      },
      async () => undefined,
    );
    expect(drained).toBe(expected);
  });
});

describe('usage above the per-record maximum', () => {
  it('is carried to the next hour with a usage.overflow-carried event', async () => {
    const ctx = setup();
    const carried: { customer: string | undefined; fromHour: number; toHour: number; units: number }[] = [];
    ctx.engine.events.on('usage.overflow-carried', (e) =>
      carried.push({
        customer: e.key.customerIdentifier,
        fromHour: e.fromHour,
        toHour: e.toHour,
        units: e.units,
      }),
    );
    await ctx.engine.start();
    const hour = ctx.clock.now();
    ctx.engine.record(alice, 'api_calls', MAX_RECORD_QUANTITY);
    ctx.engine.record(alice, 'api_calls', 10);
    await ctx.clock.advance(3_600_000 + 130_000);
    expect(carried).toEqual([
      { customer: 'cust-alice', fromHour: hour, toHour: hour + 3_600_000, units: 10 },
    ]);
  });
});

describe('TALLY_SPILL_AT', () => {
  it('leaves room for one more call of the maximum below 2^53', () => {
    expect(TALLY_SPILL_AT).toBe(9_007_197_107_257_344);
    expect(TALLY_SPILL_AT + MAX_RECORD_QUANTITY).toBe(Number.MAX_SAFE_INTEGER);
  });
});
