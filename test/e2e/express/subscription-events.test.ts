import { SQSClient } from '@aws-sdk/client-sqs';
import { createMarketplaceEventHandler, MarketplaceMeteringSink } from '@meterkit/aws-marketplace';
import { createMarketplaceEventPoller } from '@meterkit/aws-marketplace/sqs';
import { type CustomerRef, HOUR_MILLIS, type MeteringEvents, silentLogger } from '@meterkit/core';
import { ManualClock } from '@meterkit/core/testing';
import { type Emulator, startEmulator } from '@meterkit/emulator';
import { createMetering, marketplaceEvents, subscriptionPolicy } from '@meterkit/express';
import { listenLocally } from '@meterkit/test-support/local-server';
import { TinyRegistry } from '@meterkit/test-support/tiny-registry';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';

const PRODUCT = 'prod-meterkit-demo';
const HOUR_10 = Date.UTC(2026, 10, 26, 10);
const buyer = { customerIdentifier: 'cust-buyer-0001', productCode: PRODUCT } as const satisfies CustomerRef;
const customersByKey: Record<string, CustomerRef> = { 'key-buyer': buyer };
const SECRET = { header: 'x-api-key', value: 'eventbridge-shared-secret-0123' };

type Req = express.Request & { customer?: CustomerRef };

/** Emulator, metering, registry and event handler on one manual clock, and an Express app with the event route. */
async function startLifecycle(notifications: 'url' | 'queue') {
  const clock = new ManualClock(HOUR_10);
  const emulator: Emulator = await startEmulator({
    port: 0,
    now: () => clock.now(),
    products: [{ productCode: PRODUCT, dimensions: ['api_calls'] }],
    autoSubscribe: false,
  });
  const metering = createMetering({
    sink: new MarketplaceMeteringSink({
      logger: silentLogger,
      clientConfig: {
        endpoint: emulator.endpoint,
        region: 'us-east-1',
        credentials: { accessKeyId: 'AKIDEMULATOR', secretAccessKey: 'emulator-secret' },
      },
    }),
    clock,
    timers: clock,
    logger: silentLogger,
    random: () => 0.5,
    productCode: PRODUCT,
    dimensions: ['api_calls'],
    // Explicit: the adapter's default is a SQLite file in the working directory.
    store: 'memory',
    customer: (req: Req) => req.customer,
  });
  await metering.start();
  const registry = new TinyRegistry();
  const handler = createMarketplaceEventHandler({
    engine: metering.engine,
    registry,
    clock,
    productCodes: [PRODUCT],
    certificateSource: async () => emulator.snsSigningKeyPem,
  });
  const app = express();
  app.post('/marketplace/events', marketplaceEvents({ handler, eventBridgeSecret: SECRET }));
  app.use('/v1', (req: Req, _res, next) => {
    req.customer = customersByKey[req.get('x-api-key') ?? ''];
    next();
  });
  app.get(
    '/v1/forecast',
    subscriptionPolicy({ engine: metering.engine, customer: (req: Req) => req.customer, ended: 402 }),
    metering.meter('api_calls'),
    (_req, res) => {
      res.json({ forecast: 'sunny' });
    },
  );
  const server = await listenLocally(app);
  const { url } = server;
  if (notifications === 'url') emulator.control.setNotifications({ url: `${url}/marketplace/events` });
  else emulator.control.setNotifications({ queue: true });
  const call = (key = 'key-buyer') => fetch(`${url}/v1/forecast`, { headers: { 'x-api-key': key } });
  /** What the emulator billed, as `hour → quantity`. */
  const billed = () =>
    Object.fromEntries(
      emulator.ledger
        .records()
        .map((r) => [new Date(r.hourStartMillis).toISOString().slice(11, 16), r.quantity]),
    );
  return {
    clock,
    emulator,
    metering,
    registry,
    handler,
    url,
    call,
    billed,
    /** Moves the customer's state in the emulator, as a buyer's action on AWS Marketplace would. */
    async setState(state: 'subscribed' | 'unsubscribe-pending' | 'unsubscribed') {
      emulator.control.putCustomer({
        productCode: PRODUCT,
        customerIdentifier: buyer.customerIdentifier,
        state,
      });
      await emulator.notificationsSettled();
    },
    async stop() {
      await metering.shutdown();
      await server.close();
      await emulator.close();
    },
  };
}

describe('subscription lifecycle over HTTP: emulator → SNS → Express endpoint → engine', () => {
  const running: Awaited<ReturnType<typeof startLifecycle>>[] = [];
  afterEach(async () => {
    for (const stack of running.splice(0)) await stack.stop();
  });

  it('holds usage until subscribe-success, bills the final hour at once on unsubscribe-pending, then answers 402', async () => {
    const stack = await startLifecycle('url');
    running.push(stack);
    const rejected: MeteringEvents['usage.rejected'][] = [];
    stack.metering.engine.events.on('usage.rejected', (e) => rejected.push(e));
    // Registered, not yet confirmed by AWS: served, held.
    await stack.registry.register({ customer: buyer, productCode: PRODUCT, at: stack.clock.now() });
    await stack.metering.engine.applySubscriptionChange(buyer, 'registered', 'registration');
    expect((await stack.call()).status).toBe(200);
    await stack.clock.advance(5 * 60_000);
    await stack.setState('subscribed');
    for (let i = 0; i < 4; i++) expect((await stack.call()).status).toBe(200);
    await stack.clock.advance(10 * 60_000);
    await stack.setState('unsubscribe-pending');
    // Sent at once, 15 minutes into the hour: 1 held + 4 counted.
    expect(stack.billed()).toEqual({ '10:00': 5 });
    expect(stack.emulator.control.notifications().map((n) => n.delivery)).toEqual([200, 200]);
    await stack.setState('unsubscribed');
    expect((await stack.call()).status).toBe(402);
    expect((await stack.registry.get(buyer))?.history.map((h) => h.state)).toEqual([
      'registered',
      'subscribed',
      'unsubscribe-pending',
      'unsubscribed',
    ]);
    await stack.clock.advance(HOUR_MILLIS + 120_000);
    await stack.metering.flush();
    expect(stack.billed()).toEqual({ '10:00': 5 });
  });

  it('answers 403 to an unsigned subscription message and 200 to an EventBridge event with the shared secret', async () => {
    const stack = await startLifecycle('url');
    running.push(stack);
    const unsigned = await fetch(`${stack.url}/marketplace/events`, {
      method: 'POST',
      body: JSON.stringify({
        action: 'unsubscribe-success',
        'customer-identifier': 'x',
        'product-code': PRODUCT,
      }),
    });
    expect(unsigned.status).toBe(403);
    const event = {
      version: '0',
      id: 'e-1',
      'detail-type': 'Purchase Agreement Created - Manufacturer',
      source: 'aws.agreement-marketplace',
      detail: {
        acceptor: { accountId: '111122223333' },
        product: { code: PRODUCT },
        license: { licenseArn: 'arn:aws:license-manager::111122223333:license:l-acme00000000000001' },
      },
    };
    const withoutSecret = await fetch(`${stack.url}/marketplace/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(event),
    });
    expect(withoutSecret.status).toBe(403);
    const withSecret = await fetch(`${stack.url}/marketplace/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [SECRET.header]: SECRET.value },
      body: JSON.stringify(event),
    });
    expect(withSecret.status).toBe(200);
  });
});

/** An SQS client pointed at the emulator's queue. */
function emulatorSqs(emulator: Emulator): SQSClient {
  return new SQSClient({
    endpoint: emulator.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDEMULATOR', secretAccessKey: 'emulator-secret' },
  });
}

describe('subscription lifecycle over SQS: emulator queue → poller → engine', () => {
  it('applies each queued event and deletes it only after it is handled', async () => {
    const stack = await startLifecycle('queue');
    try {
      const poller = createMarketplaceEventPoller({
        handler: stack.handler,
        client: emulatorSqs(stack.emulator),
        queueUrl: stack.emulator.queueUrl,
        waitTimeSeconds: 0,
      });
      await stack.setState('subscribed');
      expect((await stack.call()).status).toBe(200);
      await stack.clock.advance(60_000);
      await stack.setState('unsubscribe-pending');
      // The registry fails once: subscribe-success stays in the queue; unsubscribe-pending is applied.
      stack.registry.failNext = true;
      expect(await poller.pollOnce()).toEqual({ received: 2, deleted: 1, kept: 1 });
      expect(stack.metering.engine.subscriptionStateOf(buyer)).toBe('unsubscribe-pending');
      expect(stack.billed()).toEqual({ '10:00': 1 });
      // Received again after the visibility timeout: handled (as stale, so it cannot undo the later event) and deleted.
      await stack.clock.advance(61_000);
      expect(await poller.pollOnce()).toEqual({ received: 1, deleted: 1, kept: 0 });
      expect(stack.metering.engine.subscriptionStateOf(buyer)).toBe('unsubscribe-pending');
      expect(await poller.pollOnce()).toEqual({ received: 0, deleted: 0, kept: 0 });
    } finally {
      await stack.stop();
    }
  });

  it('handles events while running and stops a long poll at once', async () => {
    const stack = await startLifecycle('queue');
    try {
      const poller = createMarketplaceEventPoller({
        handler: stack.handler,
        client: emulatorSqs(stack.emulator),
        queueUrl: stack.emulator.queueUrl,
      });
      const applied = new Promise<void>((resolve) => {
        stack.metering.engine.events.on('subscription.changed', () => resolve());
      });
      poller.start();
      await stack.setState('subscribed');
      await applied;
      expect(stack.metering.engine.subscriptionStateOf(buyer)).toBe('subscribed');
      // The poller is now waiting in a 20 s long poll: stop() aborts it instead of waiting it out.
      const outcome = await Promise.race([
        poller.stop().then(() => 'stopped'),
        new Promise((resolve) => setTimeout(resolve, 5_000, 'still polling')),
      ]);
      expect(outcome).toBe('stopped');
    } finally {
      await stack.stop();
    }
  });
});
