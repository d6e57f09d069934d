import { CachedCustomerRegistry, customerFromAccount, MemoryRegistry } from '@meterkit/core';
import { ManualClock, settleMicrotasks } from '@meterkit/core/testing';
import { describeCustomerRegistryContract } from '@meterkit/core/testing/vitest';
import { describe, expect, it } from 'vitest';
import { alice, bob, PRODUCT } from '../helpers.js';

const T0 = Date.UTC(2026, 10, 26, 10);

describeCustomerRegistryContract('CachedCustomerRegistry over MemoryRegistry', () => {
  const clock = new ManualClock(T0);
  return new CachedCustomerRegistry(new MemoryRegistry(), { clock, timers: clock });
});

/** A cache over a registry that another replica also writes to (the `shared` handle). */
async function cacheWithSharedRegistry() {
  const clock = new ManualClock(T0);
  const shared = new MemoryRegistry();
  const cache = new CachedCustomerRegistry(shared, { clock, timers: clock, refreshMillis: 30_000 });
  await cache.open();
  return { clock, shared, cache };
}

describe('CachedCustomerRegistry', () => {
  it('finds a customer linked through it at once, synchronously', async () => {
    // Prepare
    const { cache } = await cacheWithSharedRegistry();
    await cache.register({ customer: alice, productCode: PRODUCT, at: T0 });
    // Act
    await cache.link(alice, 'acct-alice');
    // Assess
    expect(cache.customerOfAccount('acct-alice')).toEqual(alice);
    expect(cache.customerOfAccount('acct-unknown')).toBeUndefined();
  });

  it('loads the links already in the registry when it opens', async () => {
    const shared = new MemoryRegistry();
    await shared.register({ customer: bob, productCode: PRODUCT, at: T0 });
    await shared.link(bob, 'acct-bob');
    const cache = new CachedCustomerRegistry(shared);
    await cache.open();
    expect(cache.customerOfAccount('acct-bob')).toEqual(bob);
    await cache.close();
  });

  it('learns a link another replica made from a background lookup after the first miss', async () => {
    // Prepare
    const { shared, cache } = await cacheWithSharedRegistry();
    await shared.register({ customer: bob, productCode: PRODUCT, at: T0 });
    await shared.link(bob, 'acct-bob');
    // Act
    const first = cache.customerOfAccount('acct-bob');
    await settleMicrotasks();
    // Assess
    expect(first).toBeUndefined();
    expect(cache.customerOfAccount('acct-bob')).toEqual(bob);
  });

  it('sees state changes another replica made at the next reload', async () => {
    // Prepare
    const { clock, shared, cache } = await cacheWithSharedRegistry();
    await cache.register({ customer: alice, productCode: PRODUCT, at: T0 });
    await cache.link(alice, 'acct-alice');
    await shared.setState(alice, { state: 'subscribed', at: T0 + 1, source: 'sns' });
    // Act
    await clock.advance(30_000);
    await settleMicrotasks();
    // Assess
    expect(cache.entryOfAccount('acct-alice')?.state).toBe('subscribed');
  });

  it('answers the entry of a Marketplace customer from memory, with the state set through it', async () => {
    const { cache } = await cacheWithSharedRegistry();
    await cache.register({ customer: alice, productCode: PRODUCT, at: T0 });
    await cache.setState(alice, { state: 'unsubscribe-pending', at: T0 + 1, source: 'sns' });
    expect(cache.entryOfCustomer(alice)?.state).toBe('unsubscribe-pending');
    expect(cache.entryOfCustomer(bob)).toBeUndefined();
  });

  it('resolves the customer of a request from its app account, for the adapters', async () => {
    const { cache } = await cacheWithSharedRegistry();
    await cache.register({ customer: alice, productCode: PRODUCT, at: T0 });
    await cache.link(alice, 'acct-alice');
    const resolve = customerFromAccount(
      cache,
      (req: { user?: { accountId: string } }) => req.user?.accountId,
    );
    expect(resolve({ user: { accountId: 'acct-alice' } })).toEqual(alice);
    expect(resolve({})).toBeUndefined();
  });

  it('refuses a registry that is not cached for customerFromAccount', () => {
    expect(() => customerFromAccount(new MemoryRegistry() as never, () => 'x')).toThrow(
      /CachedCustomerRegistry/,
    );
  });
});
