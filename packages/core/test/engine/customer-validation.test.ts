// Customer refs are checked against the service model once per new key, so a bad one is refused at record(), not at AWS.
import type { CustomerRef, UsageRejectionReason } from '@meterkit/core';
import { describe, expect, it } from 'vitest';
import { bob, PRODUCT, setup } from '../helpers.js';

function refusals(ctx: ReturnType<typeof setup>) {
  const seen: { reason: UsageRejectionReason; detail: string }[] = [];
  ctx.engine.events.on('usage.rejected', (e) => seen.push({ reason: e.reason, detail: e.detail }));
  return seen;
}

const license = (awsAccountId: string, licenseArn: string = bob.licenseArn): CustomerRef => ({
  awsAccountId,
  licenseArn,
  productCode: PRODUCT,
});
const legacy = (customerIdentifier: string): CustomerRef => ({ customerIdentifier, productCode: PRODUCT });

describe('customer validation at record()', () => {
  it.each([
    ['1 digit', '1'],
    ['11 digits', '11112222333'],
    ['13 digits', '1111222233334'],
  ])('refuses an account id of %s', (_, id) => {
    const ctx = setup();
    const seen = refusals(ctx);
    expect(ctx.engine.record(license(id), 'api_calls')).toBe(false);
    expect(seen).toEqual([{ reason: 'invalid-customer', detail: expect.stringContaining('awsAccountId') }]);
  });

  it('accepts an account id of exactly 12 digits', () => {
    const ctx = setup();
    expect(ctx.engine.record(license('123456789012'), 'api_calls')).toBe(true);
  });

  it('refuses a 5 MB licenseArn that otherwise matches the pattern', () => {
    const ctx = setup();
    const seen = refusals(ctx);
    const huge = `arn:aws${'a'.repeat(5 * 1024 * 1024)}:license-manager::111122223333:license:l-1`;
    expect(ctx.engine.record(license('111122223333', huge), 'api_calls')).toBe(false);
    expect(seen).toEqual([{ reason: 'invalid-customer', detail: expect.stringContaining('licenseArn') }]);
  });

  it('refuses a licenseArn that breaks the pattern', () => {
    const ctx = setup();
    expect(ctx.engine.record(license('111122223333', 'arn:aws:license-manager'), 'api_calls')).toBe(false);
  });

  it.each([
    ['a newline', 'cust\nalice'],
    ['a NUL', 'cust\u0000alice'],
    ['a DEL', 'cust\u007falice'],
    ['a C1 control', 'cust\u0085alice'],
  ])('refuses a customerIdentifier with %s', (_, id) => {
    const ctx = setup();
    const seen = refusals(ctx);
    expect(ctx.engine.record(legacy(id), 'api_calls')).toBe(false);
    expect(seen).toEqual([
      { reason: 'invalid-customer', detail: expect.stringContaining('customerIdentifier') },
    ]);
  });

  it('refuses a customerIdentifier longer than 255 characters and accepts one of 255', () => {
    const ctx = setup();
    expect(ctx.engine.record(legacy('c'.repeat(256)), 'api_calls')).toBe(false);
    expect(ctx.engine.record(legacy('c'.repeat(255)), 'api_calls')).toBe(true);
  });

  it('refuses an empty customerIdentifier', () => {
    const ctx = setup();
    expect(ctx.engine.record(legacy(''), 'api_calls')).toBe(false);
  });

  it('refuses a bad customer in another hour (`at`) the same way', () => {
    const ctx = setup();
    const seen = refusals(ctx);
    expect(ctx.engine.record(license('1'), 'api_calls', 1, ctx.clock.now() - 3_600_000)).toBe(false);
    expect(seen.map((s) => s.reason)).toEqual(['invalid-customer']);
  });
});

describe('licenseOnly', () => {
  it('bills a license customer without any product code', async () => {
    const ctx = setup({ productCode: undefined, licenseOnly: true });
    const { productCode: _, ...withoutProduct } = bob;
    expect(ctx.engine.record(withoutProduct as CustomerRef, 'api_calls', 3)).toBe(true);
    await ctx.clock.run(ctx.engine.shutdown());
    expect([...ctx.sink.ledger.values()].map((b) => [b.record.key.licenseArn, b.record.quantity])).toEqual([
      [bob.licenseArn, 3],
    ]);
  });

  it('refuses a legacy customer, saying the engine is license-only', () => {
    const ctx = setup({ productCode: undefined, licenseOnly: true });
    const seen = refusals(ctx);
    expect(ctx.engine.record(legacy('cust-alice'), 'api_calls')).toBe(false);
    expect(seen).toEqual([{ reason: 'invalid-customer', detail: expect.stringContaining('licenseOnly') }]);
  });
});
