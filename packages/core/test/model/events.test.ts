import type { MeteringLogger } from '@meterkit/core';
import { describe, expect, it } from 'vitest';
import { alice, billed, setup } from '../helpers.js';

const H10 = Date.UTC(2026, 10, 26, 10);

function errorLogger() {
  const errors: string[] = [];
  const logger: MeteringLogger = { info() {}, warn() {}, error: (m) => errors.push(m) };
  return { logger, errors };
}

describe('events', () => {
  it('a throwing usage.rejected listener never breaks record(), and the error is logged', () => {
    const { logger, errors } = errorLogger();
    const ctx = setup({ logger });
    ctx.engine.events.on('usage.rejected', () => {
      throw new Error('listener bug');
    });
    expect(() => ctx.engine.record(alice, 'api_calls', -1)).not.toThrow();
    expect(ctx.engine.record(alice, 'api_calls', -1)).toBe(false);
    expect(errors).toContainEqual(expect.stringContaining("'usage.rejected'"));
  });

  it('a throwing tally.full listener never breaks record()', () => {
    const ctx = setup({ maxLiveKeys: 1 });
    ctx.engine.events.on('tally.full', () => {
      throw new Error('listener bug');
    });
    ctx.engine.record(alice, 'api_calls');
    expect(
      ctx.engine.record({ customerIdentifier: 'other', productCode: alice.productCode }, 'api_calls'),
    ).toBe(true);
  });

  it('a throwing record.accepted listener never stops the record being settled', async () => {
    const ctx = setup();
    ctx.engine.events.on('record.accepted', () => {
      throw new Error('listener bug');
    });
    ctx.engine.record(alice, 'api_calls', 3);
    const report = await ctx.clock.run(ctx.engine.shutdown());
    expect(report.accepted).toBe(1);
    expect(report.pending).toBe(0);
    expect(billed(ctx.sink)).toEqual([['cust-alice', H10, 3]]);
  });

  it('stops calling a listener once unsubscribed', () => {
    const ctx = setup();
    const seen: string[] = [];
    const off = ctx.engine.events.on('usage.rejected', (e) => seen.push(e.reason));
    ctx.engine.record(alice, 'api_calls', -1);
    off();
    ctx.engine.record(alice, 'api_calls', -1);
    expect(seen).toEqual(['invalid-quantity']);
    expect(ctx.engine.events.hasListeners('usage.rejected')).toBe(false);
  });

  it('reports every record accepted, with the id AWS gave it', async () => {
    const ctx = setup();
    const accepted: [number, string | undefined][] = [];
    ctx.engine.events.on('record.accepted', (e) => accepted.push([e.record.quantity, e.meteringRecordId]));
    ctx.engine.record(alice, 'api_calls', 3);
    await ctx.clock.run(ctx.engine.shutdown());
    const [entry] = [...ctx.sink.ledger.values()];
    expect(accepted).toEqual([[3, entry?.meteringRecordId]]);
  });
});
