/** Redis store test fixtures: stores on one server whose keys are removed after each test. */
import type { ManualClock } from '@meterkit/core/testing';
import { RedisStore, type RedisStoreOptions } from '@meterkit/redis';
import { uniquePrefix } from '@meterkit/test-support/redis';
import { Redis } from 'ioredis';

/** Opens stores on one server and removes every key they wrote when the test is done. */
export class StoreFactory {
  private readonly prefixes = new Set<string>();
  private readonly stores: RedisStore[] = [];

  constructor(readonly url: string) {}

  /** A store on `keyPrefix` (a fresh prefix when omitted). */
  open(options: Omit<RedisStoreOptions, 'url' | 'client'> = {}): RedisStore {
    const keyPrefix = options.keyPrefix ?? uniquePrefix();
    this.prefixes.add(keyPrefix);
    const store = new RedisStore({ ...options, url: this.url, keyPrefix });
    this.stores.push(store);
    return store;
  }

  /** Closes every store and deletes every key under the prefixes used. */
  async cleanup(): Promise<void> {
    for (const store of this.stores.splice(0)) await store.close();
    const client = new Redis(this.url);
    try {
      for (const prefix of this.prefixes) {
        const keys = await client.keys(`{mk:${prefix}}*`);
        if (keys.length > 0) await client.del(...keys);
      }
      this.prefixes.clear();
    } finally {
      client.disconnect();
    }
  }
}

const realPause = () => new Promise((resolve) => setTimeout(resolve, 2));

/**
 * `ManualClock.run` for engines whose store does real network I/O: between steps of simulated time it lets real
 * time pass, so replies from Redis arrive before the clock moves on.
 */
export async function runWithIo<T>(clock: ManualClock, promise: Promise<T>, stepMillis = 1_000): Promise<T> {
  let settled = false;
  const tracked = promise.finally(() => {
    settled = true;
  });
  tracked.catch(() => undefined);
  for (let step = 0; !settled; step++) {
    if (step > 100_000) throw new Error('runWithIo: still pending after 100000 steps');
    await realPause();
    if (!settled) await clock.advance(stepMillis);
  }
  return tracked;
}

/** Moves `clock` to `epochMillis` in steps, letting real I/O finish between them. */
export async function advanceWithIo(
  clock: ManualClock,
  epochMillis: number,
  stepMillis = 1_000,
): Promise<void> {
  while (clock.now() < epochMillis) {
    await clock.advance(Math.min(stepMillis, epochMillis - clock.now()));
    await realPause();
  }
}
