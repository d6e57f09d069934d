import { createMeteringEngine, HOUR_MILLIS, silentLogger } from '@meterkit/core';
import { keyIdOf, recordIdOf, type UsageDelta } from '@meterkit/core/store';
import { InMemorySink, ManualClock } from '@meterkit/core/testing';
import { RedisStore } from '@meterkit/redis';
import { stopTestRedis, testRedis, uniquePrefix } from '@meterkit/test-support/redis';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { advanceWithIo, runWithIo, StoreFactory } from './helpers.js';

const redis = await testRedis();
afterAll(stopTestRedis);

const H0 = Date.UTC(2026, 10, 26, 10);
const H1 = H0 + HOUR_MILLIS;
const H2 = H1 + HOUR_MILLIS;
const LEASE = 60_000;
const key = (customer: string) =>
  keyIdOf({ productCode: 'prod-1', dimension: 'api_calls', customerIdentifier: customer });

async function sealOneRecordPerCustomer(store: RedisStore, customers: number, hourStart = H0): Promise<void> {
  const deltas: UsageDelta[] = Array.from({ length: customers }, (_, i) => ({
    keyId: key(`c${i}`),
    hourStart,
    quantity: i + 1,
  }));
  await store.addDeltas(deltas);
  while ((await store.sealClosedHours(hourStart + HOUR_MILLIS, 1000)).more);
}

describe.skipIf(redis.url === undefined)('RedisStore', () => {
  const url = redis.url as string;
  const stores = new StoreFactory(url);
  afterEach(() => stores.cleanup());

  it('never gives one record to two replicas racing for claims on one prefix', async () => {
    const keyPrefix = uniquePrefix();
    // One shared submitter identity: the submitter lease would otherwise let only one replica claim at all.
    const a = stores.open({ keyPrefix, instanceId: 'racers' });
    const b = stores.open({ keyPrefix, instanceId: 'racers' });
    await sealOneRecordPerCustomer(a, 300);
    const claimed: string[][] = [[], []];
    await Promise.all(
      [a, b].map(async (store, side) => {
        for (let empty = 0; empty < 3; ) {
          const taken = await store.takeDue(H1, 2, LEASE);
          empty = taken.length === 0 ? empty + 1 : 0;
          claimed[side]?.push(...taken.map((e) => e.record.id));
        }
      }),
    );
    const all = claimed.flat();
    expect(all).toHaveLength(300);
    expect(new Set(all).size).toBe(300);
    expect(claimed.every((ids) => ids.length > 0)).toBe(true);
  });

  it('hands records only to the submitter-lease holder until the lease lapses', async () => {
    const keyPrefix = uniquePrefix();
    const holder = stores.open({ keyPrefix, submitterLeaseMillis: 30_000 });
    const other = stores.open({ keyPrefix, submitterLeaseMillis: 30_000 });
    await sealOneRecordPerCustomer(holder, 2);
    expect(await holder.takeDue(H1, 1, LEASE)).toHaveLength(1);
    expect(await other.takeDue(H1 + 29_999, 10, LEASE)).toEqual([]);
    expect(await other.takeDue(H1 + 30_000, 10, LEASE)).toHaveLength(1);
    expect(await holder.takeDue(H1 + 30_001, 10, LEASE)).toEqual([]);
  });

  it('hands the submitter lease on at close, so another replica sends at once', async () => {
    const keyPrefix = uniquePrefix();
    const first = stores.open({ keyPrefix });
    const next = stores.open({ keyPrefix });
    await sealOneRecordPerCustomer(first, 1);
    expect(await first.takeDue(H1, 0, LEASE)).toEqual([]);
    await first.close();
    expect(await next.takeDue(H1, 10, LEASE)).toHaveLength(1);
  });

  it('hands a record claimed by a replica that vanished to another once the lease expires', async () => {
    const keyPrefix = uniquePrefix();
    const client = new Redis(url);
    const crashed = new RedisStore({ client, keyPrefix, submitterLeaseMillis: 1_000 });
    await sealOneRecordPerCustomer(crashed, 1);
    const [claimed] = await crashed.takeDue(H1, 10, LEASE);
    client.disconnect(); // gone without settling or closing
    const survivor = stores.open({ keyPrefix, submitterLeaseMillis: 1_000 });
    expect(await survivor.takeDue(H1 + LEASE - 1, 10, LEASE)).toEqual([]);
    const [again] = await survivor.takeDue(H1 + LEASE, 10, LEASE);
    expect(again?.record).toEqual(claimed?.record);
    expect(again?.attempts).toBe(2);
  });

  it('keeps every unit when checkpoints race a seal of the same hour: each lands sealed or in the next hour', async () => {
    const keyPrefix = uniquePrefix();
    const sealer = stores.open({ keyPrefix });
    const writer = stores.open({ keyPrefix });
    const rounds = 200;
    const writes = (async () => {
      for (let i = 0; i < rounds; i++) {
        await writer.addDeltas([
          { keyId: key('a'), hourStart: H0, quantity: 1 },
          { keyId: key(`b${i % 7}`), hourStart: H0, quantity: 2 },
        ]);
      }
    })();
    const sealed: number[] = [];
    const seals = (async () => {
      for (let i = 0; i < 20; i++) {
        const result = await sealer.sealClosedHours(i < 10 ? H0 : H1, 5);
        sealed.push(result.sealedUnits);
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    await Promise.all([writes, seals]);
    for (let more = true; more; ) {
      const result = await sealer.sealClosedHours(H2, 1000);
      sealed.push(result.sealedUnits);
      more = result.more;
    }
    const total = sealed.reduce((sum, q) => sum + q, 0);
    expect(total).toBe(rounds * 3);
    const hours = (await sealer.pending(10_000)).map((r) => `${r.keyId}@${r.hourStart}`);
    expect(new Set(hours).size).toBe(hours.length);
  });

  it('counts a checkpoint once when it is resent after a lost reply', async () => {
    const store = stores.open();
    const checkpoint = [{ keyId: key('a'), hourStart: H0, quantity: 5 }];
    await store.addDeltas(checkpoint);
    await store.addDeltas(checkpoint); // the engine retries with the same slice
    await store.addDeltas([{ keyId: key('a'), hourStart: H0, quantity: 5 }]); // a new checkpoint
    expect((await store.stats()).openUnits).toBe(10);
  });

  it('counts a checkpoint larger than one script once when it is retried', async () => {
    const store = stores.open();
    const checkpoint = Array.from({ length: 2_500 }, (_, i) => ({
      keyId: key(`c${i}`),
      hourStart: H0,
      quantity: 1,
    }));
    await store.addDeltas(checkpoint);
    await store.addDeltas(checkpoint);
    expect(await store.stats()).toMatchObject({ openKeys: 2_500, openUnits: 2_500 });
  });

  it('names records exactly as core does, for any hour', async () => {
    const store = stores.open();
    const hours = [
      Date.UTC(1999, 11, 31, 23),
      Date.UTC(2000, 1, 29, 0),
      Date.UTC(2026, 0, 1, 5),
      Date.UTC(2100, 2, 1, 12),
    ];
    for (const [i, hour] of hours.entries())
      await store.addDeltas([{ keyId: key(`c${i}`), hourStart: hour, quantity: 1 }]);
    while ((await store.sealClosedHours(Date.UTC(2101, 0, 1), 1000)).more);
    const taken = await store.takeDue(Date.UTC(2101, 0, 1), 10, LEASE);
    expect(taken.map((e) => e.record.id)).toEqual(hours.map((hour, i) => recordIdOf(key(`c${i}`), hour)));
  });

  it('writes every key under its hash tag and leaves no record keys behind once billed', async () => {
    const keyPrefix = uniquePrefix();
    const store = stores.open({ keyPrefix });
    await sealOneRecordPerCustomer(store, 3);
    const taken = await store.takeDue(H1, 10, LEASE);
    await store.settle(
      taken.map((e) => ({
        kind: 'accepted',
        id: e.record.id,
        claim: e.claim,
        meteringRecordId: 'm',
        at: H1,
      })),
    );
    const client = new Redis(url);
    const keys = await client.keys(`*${keyPrefix}*`);
    client.disconnect();
    expect(keys.every((k) => k.startsWith(`{mk:${keyPrefix}}:`))).toBe(true);
    expect(keys.filter((k) => /:(r|oh|ol):/.test(k))).toEqual([]);
  });

  it('caps the audit log at auditCapacity, keeping the newest', async () => {
    const store = stores.open({ auditCapacity: 2 });
    await sealOneRecordPerCustomer(store, 3);
    const taken = await store.takeDue(H1, 10, LEASE);
    await store.settle(
      taken.map((e, i) => ({
        kind: 'accepted',
        id: e.record.id,
        claim: e.claim,
        meteringRecordId: `m${i}`,
        at: H1,
      })),
    );
    expect((await store.auditLog(10)).map((a) => a.meteringRecordId)).toEqual(['m1', 'm2']);
    expect((await store.stats()).accepted).toBe(3);
  });

  it('rejects url and client together', () => {
    const client = new Redis(url, { lazyConnect: true });
    expect(() => new RedisStore({ url, client })).toThrow(
      expect.objectContaining({ code: 'ERR_METERING_CONFLICTING_OPTIONS' }),
    );
  });

  it('rejects a key prefix with braces, which would break the hash tag', () => {
    expect(() => new RedisStore({ url, keyPrefix: '{x}' })).toThrow(
      expect.objectContaining({ field: 'keyPrefix' }),
    );
  });

  it('reports an unreachable server as a store error', async () => {
    const client = new Redis('redis://127.0.0.1:1', {
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      lazyConnect: true,
    });
    client.on('error', () => undefined);
    const store = new RedisStore({ client });
    await expect(store.stats()).rejects.toMatchObject({ code: 'ERR_METERING_STORE' });
  });
});

describe.skipIf(redis.url === undefined)('RedisStore under two engines (replicas)', () => {
  const stores = new StoreFactory(redis.url as string);
  afterEach(() => stores.cleanup());

  it('bills usage counted on two replicas as one record per key and hour', async () => {
    const keyPrefix = uniquePrefix();
    const clock = new ManualClock(H0 + 5 * 60_000);
    const sink = new InMemorySink({ clock });
    const customer = { customerIdentifier: 'cust-a', productCode: 'prod-1' };
    const options = {
      sink,
      productCode: customer.productCode,
      clock,
      timers: clock,
      logger: silentLogger,
      random: () => 0.5,
    };
    const replicas = [
      createMeteringEngine({ ...options, store: stores.open({ keyPrefix }) }),
      createMeteringEngine({ ...options, store: stores.open({ keyPrefix }) }),
    ];
    for (const engine of replicas) await engine.start();
    replicas[0]?.record(customer, 'api_calls', 3);
    replicas[1]?.record(customer, 'api_calls', 4);
    await advanceWithIo(clock, H1 + 3 * 60_000);
    for (const engine of replicas) await runWithIo(clock, engine.shutdown());
    expect([...sink.ledger.values()].map((b) => [b.record.hourStart, b.record.quantity])).toEqual([[H0, 7]]);
    expect(sink.calls.flatMap((c) => c.response.status)).toEqual(['done']);
  });
});
