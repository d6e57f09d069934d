import { createMeteringEngine, HOUR_MILLIS, silentLogger } from '@meterkit/core';
import { InMemorySink, ManualClock } from '@meterkit/core/testing';
import { RedisRegistry } from '@meterkit/redis';
import { stopTestRedis, testRedis, uniquePrefix } from '@meterkit/test-support/redis';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { advanceWithIo, runWithIo, StoreFactory } from './helpers.js';

const redis = await testRedis();
afterAll(stopTestRedis);

const H0 = Date.UTC(2026, 10, 26, 10);
const PRODUCT = 'prod-heartbeat';

describe.skipIf(redis.url === undefined)('zero-usage heartbeats on two replicas sharing Redis', () => {
  const url = redis.url as string;
  const stores = new StoreFactory(url);
  const registryPrefixes: string[] = [];
  afterEach(async () => {
    await stores.cleanup();
    const client = new Redis(url);
    for (const prefix of registryPrefixes.splice(0)) {
      const keys = await client.keys(`{mkr:${prefix}}*`);
      if (keys.length > 0) await client.del(...keys);
    }
    client.disconnect();
  });

  it('sends one record per key and hour: the usage where a replica counted some, one 0 elsewhere', async () => {
    // Prepare
    const keyPrefix = uniquePrefix();
    registryPrefixes.push(keyPrefix);
    const registry = new RedisRegistry({ url, keyPrefix });
    const busy = { customerIdentifier: 'cust-busy', productCode: PRODUCT };
    const idle = { customerIdentifier: 'cust-idle', productCode: PRODUCT };
    for (const customer of [busy, idle]) {
      await registry.register({ customer, productCode: PRODUCT, at: H0 - 1 });
      await registry.setState(customer, { state: 'subscribed', at: H0, source: 'sns' });
    }
    const clock = new ManualClock(H0 + 5 * 60_000);
    const sink = new InMemorySink({ clock });
    const options = {
      sink,
      productCode: PRODUCT,
      clock,
      timers: clock,
      logger: silentLogger,
      random: () => 0.5,
      registry,
      dimensions: ['api_calls'],
    };
    const replicas = [
      createMeteringEngine({ ...options, store: stores.open({ keyPrefix }) }),
      createMeteringEngine({ ...options, store: stores.open({ keyPrefix }) }),
    ];
    for (const engine of replicas) await engine.start();
    // Act
    replicas[0]?.record(busy, 'api_calls', 3);
    await advanceWithIo(clock, H0 + HOUR_MILLIS + 3 * 60_000, 30_000);
    for (const engine of replicas) await runWithIo(clock, engine.shutdown());
    await registry.close();
    // Assess
    const sent = sink.calls
      .flatMap((c) => c.records)
      .map((r) => [r.key.customerIdentifier, r.hourStart, r.quantity]);
    expect(sent.sort()).toEqual(
      [
        ['cust-busy', H0, 3],
        ['cust-idle', H0, 0],
      ].sort(),
    );
    expect(sink.calls.map((c) => c.response.status)).not.toContain('failed');
  });
});
