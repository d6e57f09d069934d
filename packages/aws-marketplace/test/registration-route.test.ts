import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRegistrationHandler, type RegistrationEvent } from '@meterkit/aws-marketplace';
import {
  createMeteringEngine,
  MemoryRegistry,
  type MeteringEngine,
  type RegisteredCustomer,
  silentLogger,
} from '@meterkit/core';
import { configurationErrorOf, InMemorySink, ManualClock } from '@meterkit/core/testing';
import { type Emulator, startEmulator } from '@meterkit/emulator';
import { afterEach, describe, expect, it } from 'vitest';

const PRODUCT = 'prod-route-unit';
let server: Server | undefined;
let emulator: Emulator | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  await emulator?.close();
  server = undefined;
  emulator = undefined;
});

async function serve(listener: RequestListener): Promise<string> {
  server = createServer(listener);
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function handlerOnEmulator(options: Partial<Parameters<typeof createRegistrationHandler>[0]> = {}) {
  emulator = await startEmulator({
    port: 0,
    products: [{ productCode: PRODUCT, dimensions: ['api_calls'] }],
  });
  const events: RegistrationEvent[] = [];
  const handler = createRegistrationHandler({
    registry: new MemoryRegistry(),
    productCodes: [PRODUCT],
    clientConfig: {
      endpoint: emulator.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDEMULATOR', secretAccessKey: 'emulator-secret' },
      maxAttempts: 1,
    },
    logger: silentLogger,
    onEvent: (e) => events.push(e),
    ...options,
  });
  const url = await serve((req, res) => void handler(req, res));
  return { url, events, emulator };
}

describe('createRegistrationHandler options', () => {
  it('refuses a missing registry at creation, naming the field', () => {
    const error = configurationErrorOf(() => createRegistrationHandler({ productCodes: PRODUCT } as never));
    expect([error.code, error.field]).toEqual(['ERR_METERING_INVALID_OPTION', 'registration.registry']);
  });

  it('refuses an empty list of product codes', () => {
    const error = configurationErrorOf(() =>
      createRegistrationHandler({ registry: new MemoryRegistry(), productCodes: [] }),
    );
    expect(error.field).toBe('registration.productCodes');
  });

  it('refuses an engine option that is not a metering engine, naming the field', () => {
    const error = configurationErrorOf(() =>
      createRegistrationHandler({
        registry: new MemoryRegistry(),
        productCodes: PRODUCT,
        engine: {} as never,
      }),
    );
    expect(error.field).toBe('registration.engine');
  });

  it('refuses a body bound below 256 bytes', () => {
    const error = configurationErrorOf(() =>
      createRegistrationHandler({ registry: new MemoryRegistry(), productCodes: PRODUCT, maxBodyBytes: 10 }),
    );
    expect(error.field).toBe('registration.maxBodyBytes');
  });
});

describe('createRegistrationHandler requests', () => {
  it('answers 415 to a body that is not a form', async () => {
    const { url, events } = await handlerOnEmulator();
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(response.status).toBe(415);
    expect(events).toMatchObject([{ reason: 'unsupported-media-type' }]);
  });

  it('stops reading a chunked body at the bound and answers 413', async () => {
    const { url, events } = await handlerOnEmulator({ maxBodyBytes: 1024 });
    const big = new ReadableStream({
      start(controller) {
        for (let i = 0; i < 8; i++) controller.enqueue(new TextEncoder().encode('a'.repeat(512)));
        controller.close();
      },
    });
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: big,
      duplex: 'half',
    } as RequestInit);
    expect(response.status).toBe(413);
    expect(events).toMatchObject([{ reason: 'body-too-large' }]);
  });

  it('answers 500 and reports hook-failed when onRegistered throws', async () => {
    const { url, events, emulator } = await handlerOnEmulator({
      onRegistered: () => {
        throw new Error('account service down');
      },
    });
    const token = emulator.control.issueToken({ productCode: PRODUCT });
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ 'x-amzn-marketplace-token': token.token }),
    });
    expect(response.status).toBe(500);
    expect(events.map((e) => (e.type === 'registration.failed' ? e.reason : e.type))).toEqual([
      'registration.succeeded',
      'hook-failed',
    ]);
  });

  it('lets renderFailure answer a failure with the chosen status', async () => {
    const { url } = await handlerOnEmulator({
      renderFailure: (failure, _req, res) => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ reason: failure.reason }));
      },
    });
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'x-amzn-marketplace-token=',
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ reason: 'token-missing' });
  });
});

describe('createRegistrationHandler with an engine', () => {
  function engineOnManualClock(): MeteringEngine {
    const clock = new ManualClock();
    return createMeteringEngine({
      productCode: PRODUCT,
      sink: new InMemorySink({ clock }),
      clock,
      timers: clock,
      logger: silentLogger,
    });
  }

  async function register(url: string, token: string): Promise<Response> {
    return fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ 'x-amzn-marketplace-token': token }),
    });
  }

  it('tells the engine about a new buyer, whose usage is then held until subscribe-success', async () => {
    const engine = engineOnManualClock();
    await engine.start();
    const registry = new MemoryRegistry();
    const { url, emulator } = await handlerOnEmulator({ engine, registry });
    const token = emulator.control.issueToken({ productCode: PRODUCT });
    expect((await register(url, token.token)).status).toBe(200);
    const entry = await onlyEntry(registry);
    expect(engine.subscriptionStateOf(entry.customer)).toBe('registered');
    const held: unknown[] = [];
    engine.events.on('usage.held', (event) => held.push(event));
    engine.record(entry.customer, 'api_calls');
    expect(held).toHaveLength(1);
    await engine.shutdown();
  });

  it('keeps a newer state the engine learnt from an event before the buyer registered', async () => {
    const engine = engineOnManualClock();
    await engine.start();
    const registry = new MemoryRegistry();
    const { url, emulator } = await handlerOnEmulator({
      engine,
      registry,
      // The event lands in the engine while the registration is under way, after the registry answered.
      onEvent: () => undefined,
    });
    const token = emulator.control.issueToken({ productCode: PRODUCT });
    const wrapped = registry.register.bind(registry);
    registry.register = async (input) => {
      const entry = await wrapped(input);
      await engine.applySubscriptionChange(entry.customer, 'subscribed', 'sns');
      return entry;
    };
    expect((await register(url, token.token)).status).toBe(200);
    const entry = await onlyEntry(registry);
    expect(engine.subscriptionStateOf(entry.customer)).toBe('subscribed');
    await engine.shutdown();
  });
});

/** The one buyer the registry holds after a registration. */
async function onlyEntry(registry: MemoryRegistry): Promise<RegisteredCustomer> {
  const entries = await registry.list();
  expect(entries).toHaveLength(1);
  const [entry] = entries;
  if (entry === undefined) throw new Error('the registry holds no buyer');
  return entry;
}
