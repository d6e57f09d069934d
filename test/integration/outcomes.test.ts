import { BatchMeterUsageCommand, MarketplaceMeteringClient } from '@aws-sdk/client-marketplace-metering';
import { RegistrationTokenError, resolveCustomer } from '@meterkit/aws-marketplace';
import { type CustomerRef, HOUR_MILLIS } from '@meterkit/core';
import type { CustomerConfig, EmulatorOptions } from '@meterkit/emulator';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  CREDENTIALS,
  type Harness,
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

/** A strict emulator that knows one product with two dimensions and the given license buyers. */
function strictEmulator(
  customers: number,
  states: Record<number, CustomerConfig['state']> = {},
): EmulatorOptions {
  return {
    strict: true,
    products: [{ productCode: PRODUCT, dimensions: ['requests', 'storage'] }],
    customers: Array.from({ length: customers }, (_, n) => {
      const c = licenseCustomer(n);
      return {
        productCode: PRODUCT,
        customerAWSAccountId: c.awsAccountId,
        licenseArn: c.licenseArn,
        state: states[n] ?? 'subscribed',
      };
    }),
  };
}

function clientFor(harness: Harness): MarketplaceMeteringClient {
  return new MarketplaceMeteringClient({
    endpoint: harness.emulator.endpoint,
    region: 'us-east-1',
    credentials: CREDENTIALS,
    maxAttempts: 1,
  });
}

describe('records the service refuses', () => {
  it('isolates a record with an undeclared dimension by bisection, dead-letters it and bills the rest', async () => {
    // Prepare
    h = await startHarness({ emulator: strictEmulator(20) });
    for (let n = 0; n < 20; n++) {
      h.record(licenseCustomer(n), 'requests', n + 1);
      h.record(licenseCustomer(n), 'storage', 2);
    }
    h.engine.record(licenseCustomer(7), 'bogus', 5);
    await h.closeHour();
    // Act
    const report = await h.flushAll();
    // Assess
    expect(report.pending).toBe(0);
    expect(Object.fromEntries(h.billedByKey())).toEqual(Object.fromEntries(h.recorded));
    const dead = h.events('record.dead-lettered');
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({
      reason: 'rejected',
      record: { key: { dimension: 'bogus' }, quantity: 5 },
    });
    expect(dead[0]?.detail).toContain('InvalidUsageDimensionException');
    const refused = h.emulator.ledger.calls().filter((c) => c.errorType === 'InvalidUsageDimensionException');
    expect(refused.length).toBeGreaterThan(1);
  });

  it('dead-letters the records of a buyer who is not subscribed, with an event, and bills the others', async () => {
    h = await startHarness({ emulator: strictEmulator(3, { 1: 'unsubscribed' }) });
    for (let n = 0; n < 3; n++) h.record(licenseCustomer(n), 'requests', 10 + n);
    await h.closeHour();
    await h.flushAll();
    const dead = h.events('record.dead-lettered');
    expect(dead.map((d) => [d.reason, d.record.key.licenseArn, d.record.quantity])).toEqual([
      ['customer-not-subscribed', licenseCustomer(1).licenseArn, 11],
    ]);
    expect(await h.engine.options.store.deadLetters(10)).toHaveLength(1);
    expect(
      h.emulator.ledger
        .records()
        .map((r) => r.quantity)
        .sort(),
    ).toEqual([10, 12]);
  });
});

describe('a key and hour someone else already billed', () => {
  it('carries the quantity to the next hour, which is billed once that hour closes', async () => {
    // Prepare: another sender bills the same key and hour first, with another quantity.
    h = await startHarness();
    const buyer = licenseCustomer(1) as Required<Pick<CustomerRef, 'awsAccountId' | 'licenseArn'>>;
    const other = clientFor(h);
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
    h.record(licenseCustomer(1), 'requests', 5);
    await h.closeHour();
    // Act
    await h.flushAll();
    await h.closeHour();
    await h.flushAll();
    // Assess
    expect(h.events('record.carried-forward')).toHaveLength(1);
    expect(h.emulator.ledger.records().map((r) => [r.hourStartMillis - START, r.quantity])).toEqual([
      [0, 99],
      [HOUR_MILLIS, 5],
    ]);
  });
});

describe('a call cut off by the export timeout', () => {
  it('is billed once when the service applied it anyway and the identical resend follows', async () => {
    // Prepare: each call takes 150 ms of real time; the dispatcher gives up after 1 s of simulated time.
    h = await startHarness({
      emulator: { identicalResendStatus: 'DuplicateRecord', faults: { latencyMillis: 150 } },
      engine: { exportTimeoutMillis: 1_000 },
    });
    for (let n = 0; n < 5; n++) h.record(licenseCustomer(n), 'requests', n + 1);
    await h.closeHour();
    // Act: let simulated time run while calls are on the wire, so they time out; then the service answers promptly.
    const first = await h.drive(h.engine.forceFlush({ timeoutMillis: 500 }), { holdWhileInFlight: false });
    // The abandoned calls still land once their latency is over.
    await vi.waitFor(() => expect(h?.emulator.ledger.records()).toHaveLength(5), { timeout: 5_000 });
    h.emulator.control.replaceFaults({});
    const report = await h.flushAll();
    // Assess
    expect(first.accepted).toBe(0);
    expect(report.pending).toBe(0);
    expect(Object.fromEntries(h.billedByKey())).toEqual(Object.fromEntries(h.recorded));
    expect(h.events('record.carried-forward')).toEqual([]);
    expect(h.emulator.ledger.records().every((r) => r.identicalResends >= 1)).toBe(true);
  });
});

describe('onboarding through ResolveCustomer', () => {
  it('resolves a Concurrent Agreements token to a buyer whose usage is then billed', async () => {
    // Prepare
    h = await startHarness();
    const issued = h.emulator.control.issueToken({ productCode: PRODUCT });
    // Act
    const customer = await resolveCustomer(issued.token, {
      clientConfig: { endpoint: h.emulator.endpoint, region: 'us-east-1', credentials: CREDENTIALS },
    });
    h.record(customer, 'requests', 4);
    await h.closeHour();
    await h.flushAll();
    // Assess
    expect(customer).toEqual({
      awsAccountId: issued.customerAWSAccountId,
      licenseArn: issued.licenseArn,
      productCode: PRODUCT,
    });
    expect(h.emulator.ledger.totalQuantity({ licenseArn: issued.licenseArn })).toBe(4);
  });

  it('resolves a legacy token to a customer identifier and product', async () => {
    h = await startHarness();
    const issued = h.emulator.control.issueToken({
      productCode: PRODUCT,
      customerIdentifier: 'cust-legacy1',
    });
    const customer = await resolveCustomer(issued.token, { client: clientFor(h) });
    expect(customer).toEqual({ customerIdentifier: 'cust-legacy1', productCode: PRODUCT });
  });

  it('reports an expired token as the buyer’s to renew through "Set up your account"', async () => {
    h = await startHarness();
    const issued = h.emulator.control.issueToken({ productCode: PRODUCT, ttlMillis: HOUR_MILLIS });
    await h.clock.advance(2 * HOUR_MILLIS);
    const failure = resolveCustomer(issued.token, { client: clientFor(h) });
    await expect(failure).rejects.toBeInstanceOf(RegistrationTokenError);
    await expect(failure).rejects.toMatchObject({
      reason: 'expired',
      buyerMessage: expect.stringContaining('Set up your account'),
    });
  });

  it('reports a token the service never issued as invalid', async () => {
    h = await startHarness();
    await expect(resolveCustomer('never-issued-token', { client: clientFor(h) })).rejects.toMatchObject({
      code: 'ERR_METERING_REGISTRATION_TOKEN_INVALID',
    });
  });
});
