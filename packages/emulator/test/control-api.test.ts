import { BatchMeterUsageCommand } from '@aws-sdk/client-marketplace-metering';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Emulator } from '../src/index.js';
import { at, client, HOUR, NOW, start } from './helpers.js';

describe('HTTP control API', () => {
  let emulator: Emulator;
  const call = async (method: 'GET' | 'POST', path: string, body?: unknown) => {
    const res = await fetch(`${emulator.endpoint}/_emulator${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  beforeAll(async () => {
    emulator = await start({ products: [{ productCode: 'prod-a', dimensions: ['requests'] }] });
  });
  beforeEach(() => emulator.control.reset());
  afterAll(() => emulator.close());

  it('reports health with the endpoint and the emulator time', async () => {
    expect((await call('GET', '/health')).body).toEqual({
      status: 'ok',
      endpoint: emulator.endpoint,
      nowMillis: NOW,
    });
  });

  it('sets the clock', async () => {
    await call('POST', '/clock', { nowMillis: NOW + HOUR });
    expect(emulator.control.clock.now()).toBe(NOW + HOUR);
  });

  it('advances the clock', async () => {
    const res = await call('POST', '/clock', { advanceMillis: 5000 });
    expect(res.body).toEqual({ nowMillis: NOW + 5000 });
  });

  it('refuses a clock request with both fields', async () => {
    expect((await call('POST', '/clock', { nowMillis: 1, advanceMillis: 1 })).status).toBe(400);
  });

  it('adds a customer and lists it', async () => {
    await call('POST', '/customers', {
      productCode: 'prod-a',
      customerIdentifier: 'c1',
      state: 'unsubscribed',
    });
    expect((await call('GET', '/customers')).body.customers).toMatchObject([
      { productCode: 'prod-a', customerIdentifier: 'c1', state: 'unsubscribed', billable: false },
    ]);
  });

  it('issues a registration token', async () => {
    const res = await call('POST', '/tokens', { kind: 'legacy', customerIdentifier: 'c1' });
    expect(res.body).toMatchObject({
      productCode: 'prod-a',
      customerIdentifier: 'c1',
      expiresAtMillis: NOW + 4 * HOUR,
    });
  });

  it('adds a product', async () => {
    await call('POST', '/products', { productCode: 'prod-b', dimensions: ['gb'] });
    expect(emulator.control.products().map((p) => p.productCode)).toEqual(['prod-a', 'prod-b']);
  });

  it('sets faults and schedules them', async () => {
    const res = await call('POST', '/faults', {
      throttleProbability: 0.25,
      schedule: [{ fault: 'internal-error', count: 2 }],
    });
    expect(res.body).toMatchObject({
      settings: { throttleProbability: 0.25 },
      scheduled: [{ fault: 'internal-error', operation: '*', count: 2 }],
    });
  });

  it('answers 400 with a message for invalid fault settings', async () => {
    const res = await call('POST', '/faults', { dropResponseProbability: -1 });
    expect(res).toEqual({ status: 400, body: { error: expect.stringMatching(/between 0 and 1/) } });
  });

  it('shows billed records, totals and calls', async () => {
    await client(emulator).send(
      new BatchMeterUsageCommand({
        ProductCode: 'prod-a',
        UsageRecords: [{ CustomerIdentifier: 'c1', Dimension: 'requests', Quantity: 3, Timestamp: at(NOW) }],
      }),
    );
    const ledger = (await call('GET', '/ledger')).body;
    const calls = (await call('GET', '/calls')).body;
    expect(ledger.totals).toEqual([
      {
        operation: 'BatchMeterUsage',
        productCode: 'prod-a',
        customerIdentifier: 'c1',
        dimension: 'requests',
        quantity: 3,
        records: 1,
      },
    ]);
    expect(calls.calls).toMatchObject([
      { operation: 'BatchMeterUsage', statusCode: 200, recordCount: 1, unprocessedCount: 0 },
    ]);
  });

  it('resets billed records', async () => {
    await client(emulator).send(
      new BatchMeterUsageCommand({
        ProductCode: 'prod-a',
        UsageRecords: [{ CustomerIdentifier: 'c1', Dimension: 'requests', Quantity: 3, Timestamp: at(NOW) }],
      }),
    );
    await call('POST', '/reset');
    expect(emulator.ledger.records()).toEqual([]);
  });

  it('serves the RegisterUsage public key', async () => {
    expect((await call('GET', '/public-key')).body).toMatchObject({
      pem: emulator.publicKey.pem,
      algorithm: 'ES256',
      version: 1,
    });
  });

  it('answers 404 for an unknown route', async () => {
    expect((await call('GET', '/nope')).status).toBe(404);
  });
});
