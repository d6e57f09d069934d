import { formatHour, HOUR_MILLIS, hourStartOf, monthEndCutoff } from '@meterkit/core';
import { MAX_RECORD_QUANTITY } from '@meterkit/core/store';
import { describe, expect, it } from 'vitest';
import { alice, setup } from '../helpers.js';

const H10 = Date.UTC(2026, 10, 26, 10);
const SEAL_DELAY = 120_000;

describe('hour arithmetic', () => {
  it('maps every instant of a UTC hour to its start', () => {
    expect(hourStartOf(H10)).toBe(H10);
    expect(hourStartOf(H10 + HOUR_MILLIS - 1)).toBe(H10);
    expect(hourStartOf(H10 + HOUR_MILLIS)).toBe(H10 + HOUR_MILLIS);
  });

  it('maps instants before 1970 to the start of their hour too', () => {
    expect(hourStartOf(-1)).toBe(-HOUR_MILLIS);
  });

  it('formats an hour start as ISO-8601 UTC', () => {
    expect(formatHour(H10)).toBe('2026-11-26T10:00Z');
  });

  it('puts the month-end cut-off at 06:00 UTC on the 1st of the next month', () => {
    expect(monthEndCutoff(Date.UTC(2026, 2, 31, 23), 6)).toBe(Date.UTC(2026, 3, 1, 6));
    expect(monthEndCutoff(Date.UTC(2026, 11, 31, 23), 6)).toBe(Date.UTC(2027, 0, 1, 6));
  });
});

describe('hourly sealing', () => {
  it('rolls the hour exactly at the UTC boundary', async () => {
    const ctx = setup({ checkpointMillis: 60_000 });
    await ctx.engine.start();
    await ctx.clock.advance(HOUR_MILLIS - 1);
    ctx.engine.record(alice, 'api_calls', 1);
    await ctx.clock.advance(1);
    ctx.engine.record(alice, 'api_calls', 2);
    await ctx.clock.run(ctx.engine.shutdown());
    expect([...ctx.sink.ledger.values()].map((b) => [b.record.hourStart, b.record.quantity]).sort()).toEqual([
      [H10, 1],
      [H10 + HOUR_MILLIS, 2],
    ]);
  });

  it('seals an hour sealDelayMillis after it ends', async () => {
    const ctx = setup({ sealDelayMillis: 300_000 });
    await ctx.engine.start();
    ctx.engine.record(alice, 'api_calls');
    await ctx.clock.advance(HOUR_MILLIS + 299_000);
    expect(ctx.sink.calls).toHaveLength(0);
    await ctx.clock.advance(1_000);
    expect(ctx.sink.ledger.size).toBe(1);
    await ctx.engine.shutdown();
  });

  it('counts usage arriving within the seal delay into the hour it belongs to', async () => {
    const ctx = setup();
    await ctx.engine.start();
    await ctx.clock.advance(HOUR_MILLIS + 60_000);
    ctx.engine.record(alice, 'api_calls', 3, H10 + HOUR_MILLIS - 5);
    await ctx.clock.advance(SEAL_DELAY);
    expect([...ctx.sink.ledger.values()].map((b) => [b.record.hourStart, b.record.quantity])).toEqual([
      [H10, 3],
    ]);
    await ctx.engine.shutdown();
  });

  it('moves late usage for a sealed hour to the earliest open hour and reports it', async () => {
    const ctx = setup();
    const late: { fromHour: number; toHour: number; units: number }[] = [];
    ctx.engine.events.on('usage.late', (e) => late.push(e));
    await ctx.engine.start();
    ctx.engine.record(alice, 'api_calls', 1);
    await ctx.clock.advance(HOUR_MILLIS + SEAL_DELAY);
    ctx.engine.record(alice, 'api_calls', 6, H10 + 1_000);
    await ctx.clock.advance(HOUR_MILLIS);
    expect([...ctx.sink.ledger.values()].map((b) => [b.record.hourStart, b.record.quantity]).sort()).toEqual([
      [H10, 1],
      [H10 + HOUR_MILLIS, 6],
    ]);
    expect(late).toEqual([{ fromHour: H10, toHour: H10 + HOUR_MILLIS, units: 6 }]);
    await ctx.engine.shutdown();
  });

  it('carries a total above 2,147,483,647 into the next hour instead of truncating it', async () => {
    const ctx = setup();
    await ctx.engine.start();
    ctx.engine.record(alice, 'api_calls', MAX_RECORD_QUANTITY);
    ctx.engine.record(alice, 'api_calls', 10);
    await ctx.clock.advance(2 * HOUR_MILLIS + SEAL_DELAY);
    expect([...ctx.sink.ledger.values()].map((b) => [b.record.hourStart, b.record.quantity]).sort()).toEqual([
      [H10, MAX_RECORD_QUANTITY],
      [H10 + HOUR_MILLIS, 10],
    ]);
    await ctx.engine.shutdown();
  });

  it('stamps every record with the start of its hour, whatever the time it was counted', async () => {
    const ctx = setup();
    await ctx.engine.start();
    await ctx.clock.advance(37 * 60_000 + 123);
    ctx.engine.record(alice, 'api_calls');
    await ctx.clock.advance(HOUR_MILLIS);
    expect([...ctx.sink.ledger.values()].map((b) => b.record.hourStart)).toEqual([H10]);
    await ctx.engine.shutdown();
  });
});
