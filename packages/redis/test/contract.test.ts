import type { UsageStore } from '@meterkit/core';
import { describeUsageStoreContract } from '@meterkit/core/testing/vitest';
import type { RedisStore } from '@meterkit/redis';
import { stopTestRedis, testRedis } from '@meterkit/test-support/redis';
import { afterAll, describe } from 'vitest';
import { StoreFactory } from './helpers.js';

const redis = await testRedis();
afterAll(stopTestRedis);

describe.skipIf(redis.url === undefined)('RedisStore on a real server', () => {
  const factory = new StoreFactory(redis.url as string);
  describeUsageStoreContract('RedisStore', () => factory.open(), {
    reopen: async (store: UsageStore) => {
      const { keyPrefix } = (store as RedisStore).options;
      await store.close();
      return factory.open({ keyPrefix });
    },
    cleanup: () => factory.cleanup(),
  });
});
