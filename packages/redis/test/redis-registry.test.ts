import type { CustomerRegistry } from '@meterkit/core';
import { describeCustomerRegistryContract } from '@meterkit/core/testing/vitest';
import { RedisRegistry } from '@meterkit/redis';
import { stopTestRedis, testRedis, uniquePrefix } from '@meterkit/test-support/redis';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';

const redis = await testRedis();
afterAll(stopTestRedis);

/** Deletes every key the registries of one test wrote. */
async function removeKeys(url: string, prefixes: Iterable<string>): Promise<void> {
  const client = new Redis(url);
  try {
    for (const prefix of prefixes) {
      const keys = await client.keys(`{mkr:${prefix}}*`);
      if (keys.length > 0) await client.del(...keys);
    }
  } finally {
    client.disconnect();
  }
}

describe.skipIf(redis.url === undefined)('RedisRegistry on a real server', () => {
  const url = redis.url as string;
  describeCustomerRegistryContract(
    'RedisRegistry',
    () => new RedisRegistry({ url, keyPrefix: uniquePrefix('reg') }),
    {
      reopen: async (registry: CustomerRegistry) => {
        const { keyPrefix } = registry as RedisRegistry;
        await registry.close();
        return new RedisRegistry({ url, keyPrefix });
      },
      another: async (registry: CustomerRegistry) =>
        new RedisRegistry({ url, keyPrefix: (registry as RedisRegistry).keyPrefix }),
      cleanup: async (registries) => {
        for (const registry of registries) await registry.close();
        await removeKeys(url, new Set(registries.map((r) => (r as RedisRegistry).keyPrefix)));
      },
    },
  );

  it('keeps every change when many writers update one customer at once', async () => {
    // Prepare
    const keyPrefix = uniquePrefix('reg');
    const writers = Array.from({ length: 4 }, () => new RedisRegistry({ url, keyPrefix }));
    const customer = { customerIdentifier: 'cust-busy', productCode: 'prod-busy' };
    try {
      await writers[0]?.register({ customer, productCode: 'prod-busy', at: 0 });
      // Act
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          writers[i % writers.length]?.setState(customer, {
            state: 'subscribed',
            at: i + 1,
            source: `w${i}`,
          }),
        ),
      );
      // Assess
      expect((await writers[0]?.get(customer))?.history).toHaveLength(21);
    } finally {
      for (const writer of writers) await writer.close();
      await removeKeys(url, [keyPrefix]);
    }
  });
});
