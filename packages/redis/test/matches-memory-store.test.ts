import { afterAll, describe } from 'vitest';
import { stopTestRedis, testRedis } from '../../../test/support/redis.js';
import { itBehavesLikeTheMemoryStore } from '../../../test/support/store-differential.js';
import { StoreFactory } from './helpers.js';

const redis = await testRedis();
afterAll(stopTestRedis);

describe.skipIf(redis.url === undefined)('RedisStore semantics', () => {
  const factory = new StoreFactory(redis.url as string);
  afterAll(() => factory.cleanup());

  itBehavesLikeTheMemoryStore(() => factory.open());
});
