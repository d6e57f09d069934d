import { RedisStore, type RedisStoreOptions } from '@meterkit/redis';
import { Redis } from 'ioredis';
import { uniquePrefix } from '../../../test/support/redis.js';

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
