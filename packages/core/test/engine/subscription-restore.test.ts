import {
  CachedCustomerRegistry,
  type CustomerRegistry,
  HOUR_MILLIS,
  MemoryRegistry,
  type MeteringEvents,
} from '@meterkit/core';
import { ManualClock, settleMicrotasks } from '@meterkit/core/testing';
import { describe, expect, it } from 'vitest';
import { alice, billed, bob, carol, PRODUCT, setup } from '../helpers.js';

const SEAL_DELAY = 120_000;
const TEN = Date.UTC(2026, 10, 26, 10);

/** A registry as a previous run of the app left it. */
async function registryFromEarlierRun(): Promise<MemoryRegistry> {
  const registry = new MemoryRegistry();
  for (const customer of [alice, bob, carol]) {
    await registry.register({ customer, productCode: PRODUCT, at: TEN - HOUR_MILLIS });
  }
  await registry.setState(alice, { state: 'unsubscribed', at: TEN - 60_000, source: 'sns' });
  await registry.setState(carol, { state: 'subscribed', at: TEN - 60_000, source: 'sns' });
  return registry;
}

describe('subscription states at engine start', () => {
  it('refuses usage of a customer the registry says unsubscribed, after a restart', async () => {
    const registry = await registryFromEarlierRun();
    const { engine } = setup({ registry, heartbeats: false });
    const rejected: MeteringEvents['usage.rejected'][] = [];
    engine.events.on('usage.rejected', (event) => rejected.push(event));
    await engine.start();
    expect(engine.record(alice, 'api_calls', 2)).toBe(false);
    expect(rejected.map((event) => event.reason)).toEqual(['unsubscribed']);
    await engine.shutdown();
  });

  it('holds usage of a customer the registry says registered but not yet subscribed, after a restart', async () => {
    const registry = await registryFromEarlierRun();
    const { clock, sink, engine } = setup({ registry, heartbeats: false });
    const held: MeteringEvents['usage.held'][] = [];
    engine.events.on('usage.held', (event) => held.push(event));
    await engine.start();
    engine.record(bob, 'api_calls', 4);
    engine.record(carol, 'api_calls', 1);
    await clock.advance(HOUR_MILLIS + SEAL_DELAY);
    expect(held).toHaveLength(1);
    expect(engine.subscriptionStateOf(bob)).toBe('registered');
    expect(billed(sink)).toEqual([['cust-carol', TEN, 1]]);
    await engine.shutdown();
  });

  it('fails the start with ERR_METERING_REGISTRY_UNAVAILABLE when the registry cannot be read', async () => {
    const registry: CustomerRegistry = Object.assign(new MemoryRegistry(), {
      list: () => Promise.reject(new Error('connection refused')),
    });
    const { engine } = setup({ registry, heartbeats: false });
    await expect(engine.start()).rejects.toMatchObject({
      code: 'ERR_METERING_REGISTRY_UNAVAILABLE',
      message: expect.stringContaining('connection refused'),
    });
  });

  it('applies a state another replica wrote, when the cached registry reloads', async () => {
    const shared = await registryFromEarlierRun();
    const clock = new ManualClock(TEN);
    const cache = new CachedCustomerRegistry(shared, { clock, timers: clock, refreshMillis: 30_000 });
    const { sink, engine } = setup({ registry: cache, heartbeats: false, clock, timers: clock });
    await engine.start();
    engine.record(bob, 'api_calls', 3);
    // Another replica learns subscribe-success and writes it to the shared registry.
    await shared.setState(bob, { state: 'subscribed', at: clock.now(), source: 'sns' });
    await clock.advance(30_000);
    await settleMicrotasks();
    expect(engine.subscriptionStateOf(bob)).toBe('subscribed');
    await clock.advance(HOUR_MILLIS + SEAL_DELAY);
    expect(billed(sink)).toEqual([['111122223333', TEN, 3]]);
    await engine.shutdown();
    await cache.close();
  });

  it('keeps a state written through the cache when a reload that began before the write ends after it', async () => {
    const shared = await registryFromEarlierRun();
    const cache = new CachedCustomerRegistry(shared, {
      clock: new ManualClock(TEN),
      timers: new ManualClock(TEN),
    });
    await cache.open();
    // The reload reads the registry now and gets its answer only after the write below.
    const loaded = await shared.list();
    let answer: (entries: typeof loaded) => void = () => undefined;
    shared.list = () => new Promise((resolve) => (answer = resolve));
    const reload = cache.refresh();
    await cache.setState(bob, { state: 'subscribed', at: TEN + 1, source: 'sns' });
    answer(loaded);
    await reload;
    expect(cache.entryOfCustomer(bob)?.state).toBe('subscribed');
    await cache.close();
  });
});
