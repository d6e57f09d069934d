import { stopTestRedis, testRedis } from '@meterkit/test-support/redis';
import { itBehavesLikeTheMemoryStore } from '@meterkit/test-support/store-differential';
import { afterAll, describe } from 'vitest';
import { StoreFactory } from './helpers.js';

const redis = await testRedis();
afterAll(stopTestRedis);

describe.skipIf(redis.url === undefined)('RedisStore semantics', () => {
  const factory = new StoreFactory(redis.url as string);
  afterAll(() => factory.cleanup());

  itBehavesLikeTheMemoryStore(() => factory.open());
});
