import type { UsageStore } from '@meterkit/core';
import { describeUsageStoreContract } from '@meterkit/core/testing/vitest';
import { RedisStore } from '@meterkit/redis';
import { uniquePrefix } from '@meterkit/test-support/redis';
import { startTestRedisCluster } from '@meterkit/test-support/redis-cluster';
import { Cluster } from 'ioredis';
import { afterAll, describe } from 'vitest';

// Three masters, so stores with different prefixes live on different nodes, and a key that escaped the store's hash
// tag would make a script touch a slot its node does not serve (Redis refuses that).
const cluster = await startTestRedisCluster(3);
const client =
  'nodes' in cluster
    ? new Cluster([...cluster.nodes], { redisOptions: { maxRetriesPerRequest: 3 } })
    : undefined;
afterAll(async () => {
  client?.disconnect();
  if ('stop' in cluster) await cluster.stop();
});

describe.skipIf(client === undefined)('RedisStore on a three-node Redis Cluster', () => {
  const opened = new Map<UsageStore, string>();
  const open = (keyPrefix = uniquePrefix('cluster')) => {
    const store = new RedisStore({ client: client as Cluster, keyPrefix });
    opened.set(store, keyPrefix);
    return store;
  };
  describeUsageStoreContract('RedisStore (Cluster)', () => open(), {
    reopen: async (store: UsageStore) => {
      const keyPrefix = opened.get(store) as string;
      await store.close();
      return open(keyPrefix);
    },
    cleanup: async (stores) => {
      for (const store of stores) await store.close();
      opened.clear();
    },
  });
});
