import { type CustomerRef, HOUR_MILLIS, type UsageRejectionReason } from '@meterkit/core';
import { describe, expect, it } from 'vitest';
import { alice, bob, PRODUCT, setup } from '../helpers.js';

const H10 = Date.UTC(2026, 10, 26, 10);

/** Seals and sends everything (memory store), then lists what AWS billed as [customer, dimension, hour, quantity]. */
async function billAll(ctx: ReturnType<typeof setup>) {
  await ctx.clock.run(ctx.engine.shutdown());
  return [...ctx.sink.ledger.values()]
    .map(({ record: r }) => [
      r.key.customerIdentifier ?? r.key.licenseArn,
      r.key.dimension,
      r.hourStart,
      r.quantity,
    ])
    .sort();
}

function rejections(ctx: ReturnType<typeof setup>) {
  const seen: { reason: UsageRejectionReason; detail: string }[] = [];
  ctx.engine.events.on('usage.rejected', (e) => seen.push({ reason: e.reason, detail: e.detail }));
  return seen;
}

describe('record()', () => {
  it('counts quantity 1 by default', async () => {
    const ctx = setup();
    expect(ctx.engine.record(alice, 'api_calls')).toBe(true);
    expect(await billAll(ctx)).toEqual([['cust-alice', 'api_calls', H10, 1]]);
  });

  it('counts a legacy customer and a Concurrent Agreements customer under their own identifiers', async () => {
    const ctx = setup();
    ctx.engine.record(alice, 'api_calls', 2);
    ctx.engine.record(bob, 'api_calls', 3);
    await ctx.clock.run(ctx.engine.shutdown());
    const keys = [...ctx.sink.ledger.values()].map((b) => b.record.key);
    expect(keys).toEqual(
      expect.arrayContaining([
        { productCode: PRODUCT, customerIdentifier: 'cust-alice', dimension: 'api_calls' },
        {
          productCode: PRODUCT,
          awsAccountId: bob.awsAccountId,
          licenseArn: bob.licenseArn,
          dimension: 'api_calls',
        },
      ]),
    );
  });

  it('counts an equal customer ref passed as a new object into the same key', async () => {
    const ctx = setup();
    ctx.engine.record({ ...alice }, 'api_calls', 2);
    ctx.engine.record({ ...alice }, 'api_calls', 3);
    expect((await ctx.engine.stats()).liveKeys).toBe(1);
    expect(await billAll(ctx)).toEqual([['cust-alice', 'api_calls', H10, 5]]);
  });

  it('takes the product code from the engine option when the customer has none', async () => {
    const ctx = setup({ productCode: 'prod-default' });
    ctx.engine.record({ customerIdentifier: 'c-1' }, 'api_calls');
    await ctx.clock.run(ctx.engine.shutdown());
    expect([...ctx.sink.ledger.values()].map((b) => b.record.key.productCode)).toEqual(['prod-default']);
  });

  it.each([
    ['null', null],
    ['undefined', undefined],
  ])('counts nothing for a %s customer and reports missing-customer', async (_, customer) => {
    const ctx = setup();
    const seen = rejections(ctx);
    expect(ctx.engine.record(customer as unknown as CustomerRef, 'api_calls')).toBe(false);
    expect(seen.map((r) => r.reason)).toEqual(['missing-customer']);
    expect(await billAll(ctx)).toEqual([]);
  });

  it('reports missing-customer for a known dimension too', () => {
    const ctx = setup();
    ctx.engine.record(alice, 'api_calls');
    const seen = rejections(ctx);
    expect(ctx.engine.record(null as unknown as CustomerRef, 'api_calls')).toBe(false);
    expect(seen.map((r) => r.reason)).toEqual(['missing-customer']);
  });

  it.each([
    ['an empty name', ''],
    ['a name longer than 255 characters', 'd'.repeat(256)],
    ['a non-string', 7],
  ])('counts nothing for %s and reports invalid-dimension', async (_, dimension) => {
    const ctx = setup();
    const seen = rejections(ctx);
    expect(ctx.engine.record(alice, dimension as string)).toBe(false);
    expect(seen.map((r) => r.reason)).toEqual(['invalid-dimension']);
    expect(await billAll(ctx)).toEqual([]);
  });

  it('counts nothing for a dimension outside the declared list and reports undeclared-dimension', async () => {
    const ctx = setup({ dimensions: ['api_calls'] });
    const seen = rejections(ctx);
    expect(ctx.engine.record(alice, 'storage_gb')).toBe(false);
    expect(ctx.engine.record(alice, 'api_calls')).toBe(true);
    expect(seen.map((r) => r.reason)).toEqual(['undeclared-dimension']);
    expect(await billAll(ctx)).toEqual([['cust-alice', 'api_calls', H10, 1]]);
  });

  it.each([
    ['negative', -1],
    ['fractional', 1.5],
    ['NaN', Number.NaN],
    ['infinite', Number.POSITIVE_INFINITY],
    ['above the safe-integer range', Number.MAX_SAFE_INTEGER + 1],
    ['a string', '3'],
  ])('counts nothing for a %s quantity and reports invalid-quantity', async (_, quantity) => {
    const ctx = setup();
    const seen = rejections(ctx);
    expect(ctx.engine.record(alice, 'api_calls', quantity as number)).toBe(false);
    expect(seen.map((r) => r.reason)).toEqual(['invalid-quantity']);
    expect(await billAll(ctx)).toEqual([]);
  });

  it('refuses a customer with both identifier kinds and reports invalid-customer', async () => {
    const ctx = setup();
    const seen = rejections(ctx);
    const both = { ...bob, customerIdentifier: 'cust-x' } as unknown as CustomerRef;
    expect(ctx.engine.record(both, 'api_calls')).toBe(false);
    expect(seen).toEqual([{ reason: 'invalid-customer', detail: expect.stringContaining('never both') }]);
    expect(await billAll(ctx)).toEqual([]);
  });

  it('refuses both identifier kinds even after the license key is live', () => {
    const ctx = setup();
    ctx.engine.record(bob, 'api_calls');
    const seen = rejections(ctx);
    expect(
      ctx.engine.record({ ...bob, customerIdentifier: 'cust-x' } as unknown as CustomerRef, 'api_calls'),
    ).toBe(false);
    expect(seen.map((r) => r.reason)).toEqual(['invalid-customer']);
  });

  it.each([
    ['an invalid product code', { customerIdentifier: 'c-1', productCode: 'bad code' }],
    ['an empty customer identifier', { customerIdentifier: '', productCode: PRODUCT }],
    ['a non-numeric AWS account', { ...bob, awsAccountId: 'acct-1' }],
    ['a malformed license ARN', { ...bob, licenseArn: 'license-1' }],
    ['a license without an account', { licenseArn: bob.licenseArn, productCode: PRODUCT }],
  ])('refuses a customer with %s and reports invalid-customer', (_, customer) => {
    const ctx = setup();
    const seen = rejections(ctx);
    expect(ctx.engine.record(customer as CustomerRef, 'api_calls')).toBe(false);
    expect(seen.map((r) => r.reason)).toEqual(['invalid-customer']);
  });

  it('counts usage stamped `at` another hour into that hour', async () => {
    const ctx = setup();
    await ctx.engine.start();
    await ctx.clock.advance(HOUR_MILLIS + 1_000);
    ctx.engine.record(alice, 'api_calls', 4, H10 + 59 * 60_000);
    ctx.engine.record(alice, 'api_calls', 1);
    expect(await billAll(ctx)).toEqual([
      ['cust-alice', 'api_calls', H10, 4],
      ['cust-alice', 'api_calls', H10 + HOUR_MILLIS, 1],
    ]);
  });

  it('seals no empty record for a zero quantity stamped `at` another hour', async () => {
    const ctx = setup();
    expect(ctx.engine.record(alice, 'api_calls', 0, H10 - HOUR_MILLIS)).toBe(true);
    expect(await billAll(ctx)).toEqual([]);
  });

  it('refuses an `at` that is not a finite time', () => {
    const ctx = setup();
    const seen = rejections(ctx);
    for (const at of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      expect(ctx.engine.record(alice, 'api_calls', 1, at)).toBe(false);
    }
    expect(seen.map((r) => r.reason)).toEqual(['invalid-time', 'invalid-time', 'invalid-time']);
  });

  it('refuses an `at` more than five minutes ahead of the clock, and counts one within that skew', async () => {
    const ctx = setup();
    const seen = rejections(ctx);
    const now = ctx.clock.now();
    expect(ctx.engine.record(alice, 'api_calls', 1, now + 5 * 60_000 + 1)).toBe(false);
    expect(ctx.engine.record(alice, 'api_calls', 2, now + 5 * 60_000)).toBe(true);
    expect(seen.map((r) => r.reason)).toEqual(['invalid-time']);
    expect(await billAll(ctx)).toEqual([['cust-alice', 'api_calls', H10, 2]]);
  });

  it('validates the customer of usage stamped `at` another hour', () => {
    const ctx = setup();
    const seen = rejections(ctx);
    expect(
      ctx.engine.record({ ...bob, customerIdentifier: 'x' } as never, 'api_calls', 1, H10 - HOUR_MILLIS),
    ).toBe(false);
    expect(ctx.engine.record(alice, 'nope', 1, H10 - HOUR_MILLIS)).toBe(true);
    expect(seen.map((r) => r.reason)).toEqual(['invalid-customer']);
  });
});

describe('maxLiveKeys', () => {
  const customer = (i: number): CustomerRef => ({ customerIdentifier: `c-${i}`, productCode: PRODUCT });

  it('under `reject`, refuses a new key when full and reports max-live-keys', () => {
    const ctx = setup({ maxLiveKeys: 2, onMaxLiveKeys: 'reject' });
    const seen = rejections(ctx);
    expect([0, 1, 2].map((i) => ctx.engine.record(customer(i), 'api_calls'))).toEqual([true, true, false]);
    expect(seen.map((r) => r.reason)).toEqual(['max-live-keys']);
  });

  it('under `reject`, still counts keys that are already live', () => {
    const ctx = setup({ maxLiveKeys: 2, onMaxLiveKeys: 'reject' });
    ctx.engine.record(customer(0), 'api_calls');
    ctx.engine.record(customer(1), 'api_calls');
    expect(ctx.engine.record(customer(0), 'api_calls', 5)).toBe(true);
  });

  it('under `reject`, admits() answers false only for a new key when full', () => {
    const ctx = setup({ maxLiveKeys: 1, onMaxLiveKeys: 'reject' });
    expect(ctx.engine.admits(customer(0), 'api_calls')).toBe(true);
    ctx.engine.record(customer(0), 'api_calls');
    expect(ctx.engine.admits(customer(0), 'api_calls')).toBe(true);
    expect(ctx.engine.admits(customer(1), 'api_calls')).toBe(false);
  });

  it('under `reject`, makes room again once idle keys are checkpointed', async () => {
    const ctx = setup({ maxLiveKeys: 1, onMaxLiveKeys: 'reject' });
    ctx.engine.record(customer(0), 'api_calls');
    await ctx.engine.checkpoint(); // moves the count out
    await ctx.engine.checkpoint(); // evicts the now idle key
    expect(ctx.engine.record(customer(1), 'api_calls')).toBe(true);
  });

  it('under `checkpoint`, refuses nothing, never holds more than maxLiveKeys live, and bills every unit', async () => {
    const ctx = setup({ maxLiveKeys: 3, onMaxLiveKeys: 'checkpoint' });
    const full: number[] = [];
    ctx.engine.events.on('tally.full', (e) => full.push(e.liveKeys));
    const rejected = rejections(ctx);
    let peak = 0;
    for (let i = 0; i < 10; i++) {
      expect(ctx.engine.record(customer(i), 'api_calls', i + 1)).toBe(true);
      peak = Math.max(peak, (await ctx.engine.stats()).liveKeys);
    }
    expect(rejected).toEqual([]);
    expect(peak).toBeLessThanOrEqual(3);
    expect(full.length).toBeGreaterThan(0);
    const billed = await billAll(ctx);
    expect(billed).toHaveLength(10);
    expect(billed.reduce((sum, b) => sum + (b[3] as number), 0)).toBe(55);
  });
});

describe('admits()', () => {
  it('answers true under the default `checkpoint` policy, even when full', () => {
    const ctx = setup({ maxLiveKeys: 1 });
    ctx.engine.record(alice, 'api_calls');
    expect(ctx.engine.admits(bob, 'api_calls')).toBe(true);
  });
});
