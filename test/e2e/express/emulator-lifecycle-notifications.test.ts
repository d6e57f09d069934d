import { createMarketplaceEventHandler, type MarketplaceEvent } from '@meterkit/aws-marketplace';
import { type CustomerRef, createMeteringEngine, MemoryRegistry, silentLogger } from '@meterkit/core';
import { InMemorySink, ManualClock } from '@meterkit/core/testing';
import { type Emulator, startEmulator } from '@meterkit/emulator';
import { marketplaceEvents } from '@meterkit/express';
import { listenLocally } from '@meterkit/test-support/local-server';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';

const PRODUCT = 'prod-notifications-e2e';
const HOUR_10 = Date.UTC(2026, 10, 26, 10);
const SECRET = { header: 'x-api-key', value: 'eventbridge-shared-secret-0123' };
const legacy = {
  customerIdentifier: 'cust-legacy-0001',
  productCode: PRODUCT,
} as const satisfies CustomerRef;
const licensed = {
  awsAccountId: '111122223333',
  licenseArn: 'arn:aws:license-manager::111122223333:license:l-notify000000000001',
  productCode: PRODUCT,
} as const satisfies CustomerRef;
const licensedInEmulator = {
  productCode: PRODUCT,
  customerAWSAccountId: licensed.awsAccountId,
  licenseArn: licensed.licenseArn,
};

/** The emulator posting to an Express event endpoint whose handler feeds a registry and an engine. */
async function startStack(format: 'sns' | 'eventbridge') {
  const clock = new ManualClock(HOUR_10);
  const emulator: Emulator = await startEmulator({
    port: 0,
    now: () => clock.now(),
    products: [{ productCode: PRODUCT, dimensions: ['api_calls'] }],
    autoSubscribe: false,
  });
  const engine = createMeteringEngine({
    sink: new InMemorySink({ clock }),
    clock,
    timers: clock,
    logger: silentLogger,
    productCode: PRODUCT,
  });
  await engine.start();
  const registry = new MemoryRegistry();
  const received: MarketplaceEvent[] = [];
  const handler = createMarketplaceEventHandler({
    engine,
    registry,
    clock,
    productCodes: [PRODUCT],
    certificateSource: async () => emulator.snsSigningKeyPem,
    onEvent: (event) => {
      received.push(event);
    },
  });
  const app = express();
  app.post('/marketplace/events', marketplaceEvents({ handler, eventBridgeSecret: SECRET }));
  const server = await listenLocally(app);
  const { url } = server;
  emulator.control.setNotifications({
    url: `${url}/marketplace/events`,
    format,
    secretHeader: { name: SECRET.header, value: SECRET.value },
  });
  /** Calls the emulator's HTTP control API, as a test script or the CLI would. */
  const control = async (path: string, body: unknown) => {
    const response = await fetch(`${emulator.endpoint}/_emulator${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(response.status).toBe(200);
    await emulator.notificationsSettled();
  };
  return {
    emulator,
    engine,
    registry,
    received,
    control,
    async stop() {
      await engine.shutdown();
      await server.close();
      await emulator.close();
    },
  };
}

describe('emulator subscribe-fail and entitlement-updated, through the event handler', () => {
  const running: Awaited<ReturnType<typeof startStack>>[] = [];
  afterEach(async () => {
    for (const stack of running.splice(0)) await stack.stop();
  });

  it('sends subscribe-fail over SNS when a customer moves to subscribe-failed, and the engine stops metering them', async () => {
    const stack = await startStack('sns');
    running.push(stack);
    await stack.control('/customers', { ...legacy, state: 'subscribe-failed' });
    expect(stack.emulator.control.notifications().map((n) => [n.action, n.format, n.delivery])).toEqual([
      ['subscribe-fail', 'sns', 200],
    ]);
    expect(stack.engine.subscriptionStateOf(legacy)).toBe('subscribe-failed');
    expect((await stack.registry.get(legacy))?.state).toBe('subscribe-failed');
    expect(stack.engine.record(legacy, 'api_calls')).toBe(false);
  });

  it('sends subscribe-fail over SNS even when EventBridge is asked for: EventBridge has no such event', async () => {
    const stack = await startStack('eventbridge');
    running.push(stack);
    await stack.control('/customers', { ...licensedInEmulator, state: 'subscribe-failed' });
    expect(stack.emulator.control.notifications().map((n) => [n.action, n.format, n.delivery])).toEqual([
      ['subscribe-fail', 'sns', 200],
    ]);
    expect(stack.engine.subscriptionStateOf(licensed)).toBe('subscribe-failed');
  });

  it('sends entitlement-updated over SNS for a subscribed customer and leaves its state alone', async () => {
    const stack = await startStack('sns');
    running.push(stack);
    await stack.control('/customers', { ...legacy, state: 'subscribed' });
    await stack.control('/entitlements', legacy);
    expect(stack.received.map((e) => [e.action, e.channel])).toEqual([
      ['subscribe-success', 'sns'],
      ['entitlement-updated', 'sns'],
    ]);
    expect(stack.engine.subscriptionStateOf(legacy)).toBe('subscribed');
  });

  it('sends entitlement-updated as an EventBridge License Updated event', async () => {
    const stack = await startStack('eventbridge');
    running.push(stack);
    await stack.control('/customers', { ...licensedInEmulator, state: 'subscribed' });
    await stack.control('/entitlements', licensedInEmulator);
    expect(stack.received.map((e) => [e.action, e.channel, e.detailType])).toEqual([
      ['subscribe-success', 'eventbridge', 'Purchase Agreement Created - Manufacturer'],
      ['entitlement-updated', 'eventbridge', 'License Updated - Manufacturer'],
    ]);
    expect(stack.engine.subscriptionStateOf(licensed)).toBe('subscribed');
  });

  it('refuses an entitlement update for a customer the emulator does not know', async () => {
    const stack = await startStack('sns');
    running.push(stack);
    const response = await fetch(`${stack.emulator.endpoint}/_emulator/entitlements`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(legacy),
    });
    expect(response.status).toBe(400);
    expect(stack.emulator.control.notifications()).toEqual([]);
  });
});
