/** The behaviour every UsageStore must have, as a Vitest suite store authors run against their store. */
import { afterEach, describe, expect, it } from 'vitest';
import { keyIdOf, MAX_RECORD_QUANTITY, type UsageRecord } from '../model/usage-key.js';
import {
  MAX_ALLOCATION_BYTES_PER_RECORD,
  MAX_ALLOCATIONS_PER_RECORD,
  tagSetIdOf,
  tagSetIdOfTags,
} from '../model/usage-tags.js';
import type { UsageStore } from '../store/usage-store.js';
import { HOUR_MILLIS } from '../time/hours.js';
import { sealAndReadBack } from './seal-read-back.js';

export interface StoreContractOptions {
  /** For durable stores: close `store` and open a new one on the same data. */
  reopen?: (store: UsageStore) => Promise<UsageStore>;
  /** Called after each test with every store the test opened. */
  cleanup?: (stores: UsageStore[]) => Promise<void>;
}

const H0 = Date.UTC(2026, 10, 26, 10);
const H1 = H0 + HOUR_MILLIS;
const H2 = H1 + HOUR_MILLIS;
const H3 = H2 + HOUR_MILLIS;
const LEASE = 60_000;
const keyA = keyIdOf({ productCode: 'prod-1', dimension: 'api_calls', customerIdentifier: 'cust-a' });
const alpha = tagSetIdOf({ project: 'alpha' });
const beta = tagSetIdOf({ project: 'beta', team: 'ops' });

/** A record's allocations as `[tags as "k=v,k=v", quantity]`, sorted, for comparisons. */
function allocationsOf(record: UsageRecord | undefined): [string, number][] | undefined {
  return record?.allocations
    ?.map((a): [string, number] => [a.tags.map((t) => `${t.key}=${t.value}`).join(','), a.quantity])
    .sort();
}

const keyB = keyIdOf({
  productCode: 'prod-1',
  dimension: 'api_calls',
  awsAccountId: '123456789012',
  licenseArn: 'arn:aws:license-manager::123456789012:license:l-0123456789abcdef',
});

/** The first of `items`; fails the test when there is none (each caller has just put one there). */
function firstOf<T>(items: readonly T[]): T {
  const [item] = items;
  if (item === undefined) throw new Error('expected at least one item, got none');
  return item;
}

/**
 * The behaviour every `UsageStore` must have. Run it from your store's tests:
 * `describeUsageStoreContract('MyStore', async () => new MyStore(...))`.
 */
export function describeUsageStoreContract(
  name: string,
  factory: () => Promise<UsageStore> | UsageStore,
  options: StoreContractOptions = {},
): void {
  describe(`UsageStore contract: ${name}`, () => {
    let opened: UsageStore[] = [];
    async function make(): Promise<UsageStore> {
      const store = await factory();
      await store.open?.();
      opened.push(store);
      return store;
    }
    /** One sealing call and the records it sealed, its counts checked against them (so every sealing here tests them). */
    async function sealOnce(store: UsageStore, closeBefore: number, limit: number) {
      const sealed = await sealAndReadBack(store, closeBefore, limit);
      expect([sealed.result.sealedRecords, sealed.result.sealedUnits]).toEqual([
        sealed.records.length,
        sealed.records.reduce((total, r) => total + r.quantity, 0),
      ]);
      return sealed;
    }
    async function sealAll(store: UsageStore, closeBefore: number, limit = 1000) {
      const all: UsageRecord[] = [];
      for (;;) {
        const { result, records } = await sealOnce(store, closeBefore, limit);
        all.push(...records);
        if (!result.more) return all;
      }
    }
    afterEach(async () => {
      const stores = opened;
      opened = [];
      if (options.cleanup) await options.cleanup(stores);
      else for (const s of stores) await s.close();
    });

    it('sums deltas for one key and hour into a single sealed record', async () => {
      const store = await make();
      await store.addDeltas([
        { keyId: keyA, hourStart: H0, quantity: 2 },
        { keyId: keyA, hourStart: H0, quantity: 3 },
      ]);
      await store.addDeltas([{ keyId: keyA, hourStart: H0, quantity: 5 }]);
      const sealed = await sealAll(store, H1);
      expect(sealed.map((r) => [r.keyId, r.hourStart, r.quantity])).toEqual([[keyA, H0, 10]]);
    });

    it('does not seal an hour that has not closed', async () => {
      const store = await make();
      await store.addDeltas([{ keyId: keyA, hourStart: H1, quantity: 1 }]);
      expect(await sealAll(store, H1)).toEqual([]);
      expect((await store.stats()).openUnits).toBe(1);
    });

    it('moves usage for a closed hour into the earliest open hour', async () => {
      const store = await make();
      await store.addDeltas([{ keyId: keyA, hourStart: H0, quantity: 1 }]);
      await sealAll(store, H1);
      await store.addDeltas([{ keyId: keyA, hourStart: H0, quantity: 4 }]);
      const sealed = await sealAll(store, H2);
      expect(sealed.map((r) => [r.hourStart, r.quantity])).toEqual([[H1, 4]]);
    });

    it('creates a key from a zero delta, and seals it as a record of quantity 0 (a heartbeat)', async () => {
      const store = await make();
      await store.addDeltas([{ keyId: keyA, hourStart: H0, quantity: 0 }]);
      expect((await store.stats()).openKeys).toBe(1);
      const sealed = await sealAll(store, H1);
      expect(sealed.map((r) => [r.keyId, r.hourStart, r.quantity])).toEqual([[keyA, H0, 0]]);
    });

    it('never changes a non-zero total with a zero delta, before or after the usage', async () => {
      const store = await make();
      await store.addDeltas([
        { keyId: keyA, hourStart: H0, quantity: 0 },
        { keyId: keyA, hourStart: H0, quantity: 3 },
        { keyId: keyB, hourStart: H0, quantity: 2 },
      ]);
      await store.addDeltas([
        { keyId: keyA, hourStart: H0, quantity: 0 },
        { keyId: keyB, hourStart: H0, quantity: 0 },
        { keyId: keyB, hourStart: H0, quantity: 0 },
      ]);
      const sealed = await sealAll(store, H1);
      expect(sealed.map((r) => [r.keyId, r.quantity]).sort()).toEqual(
        [
          [keyA, 3],
          [keyB, 2],
        ].sort(),
      );
      expect((await store.stats()).openUnits).toBe(0);
    });

    it('carries a total above the per-record maximum into the next hour', async () => {
      const store = await make();
      await store.addDeltas([{ keyId: keyA, hourStart: H0, quantity: MAX_RECORD_QUANTITY + 7 }]);
      const first = await sealAll(store, H1);
      expect(first.map((r) => r.quantity)).toEqual([MAX_RECORD_QUANTITY]);
      const second = await sealAll(store, H2);
      expect(second.map((r) => [r.hourStart, r.quantity])).toEqual([[H1, 7]]);
    });

    it('reports each total it cut down to the per-record maximum, with the units it carried', async () => {
      const store = await make();
      await store.addDeltas([
        { keyId: keyA, hourStart: H0, quantity: MAX_RECORD_QUANTITY + 7 },
        { keyId: keyB, hourStart: H0, quantity: 3 },
      ]);
      const result = await store.sealClosedHours(H1, 1000);
      expect(result.carried).toEqual([{ keyId: keyA, fromHour: H0, units: 7 }]);
    });

    it('adds totals past 2^53 exactly: every unit is sealed or carried, none rounded away', async () => {
      const store = await make();
      // 2^53 + 1 units for one key and hour, a total no double holds, in two deltas as two checkpoints would send.
      await store.addDeltas([{ keyId: keyA, hourStart: H0, quantity: Number.MAX_SAFE_INTEGER - 1 }]);
      await store.addDeltas([{ keyId: keyA, hourStart: H0, quantity: 3 }]);
      const first = await sealOnce(store, H1, 1000);
      const second = await sealOnce(store, H2, 1000);
      expect([...first.records, ...second.records].map((r) => [r.hourStart, r.quantity])).toEqual([
        [H0, MAX_RECORD_QUANTITY],
        [H1, MAX_RECORD_QUANTITY],
      ]);
      // Whatever the store moved to H1 when adding, H1's carry is the exact rest: nothing rounded away.
      const rest = BigInt(second.result.carried?.[0]?.units ?? Number.NaN);
      expect(2n * BigInt(MAX_RECORD_QUANTITY) + rest).toBe(2n ** 53n + 1n);
    });

    for (const limit of [1000, 1]) {
      it(`seals an overflow carried into a closed hour before any later hour (limit ${limit})`, async () => {
        const store = await make();
        // H0 overflows into H1, which overflows again into H2, which already holds usage of its own.
        await store.addDeltas([
          { keyId: keyA, hourStart: H0, quantity: 2 * MAX_RECORD_QUANTITY + 1 },
          { keyId: keyA, hourStart: H2, quantity: 5 },
        ]);
        const sealed = await sealAll(store, H3, limit);
        expect(sealed.map((r) => [r.hourStart, r.quantity])).toEqual([
          [H0, MAX_RECORD_QUANTITY],
          [H1, MAX_RECORD_QUANTITY],
          [H2, 6],
        ]);
      });
    }

    it('seals in slices when given a limit', async () => {
      const store = await make();
      await store.addDeltas(
        Array.from({ length: 7 }, (_, i) => ({
          keyId: keyIdOf({ productCode: 'prod-1', dimension: 'api_calls', customerIdentifier: `c${i}` }),
          hourStart: H0,
          quantity: 1,
        })),
      );
      const first = await sealOnce(store, H1, 3);
      expect(first.result.sealedRecords).toBe(3);
      expect(first.result.more).toBe(true);
      const rest = await sealAll(store, H1);
      expect(rest).toHaveLength(4);
      expect(new Set([...first.records, ...rest].map((r) => r.id)).size).toBe(7);
    });

    it('reports how many records and units each call sealed, whatever the records hold', async () => {
      const store = await make();
      await store.addDeltas([
        { keyId: keyA, hourStart: H0, quantity: MAX_RECORD_QUANTITY + 7 },
        { keyId: keyB, hourStart: H1, quantity: 3, tags: alpha },
        { keyId: keyB, hourStart: H1, quantity: 4 },
      ]);
      const first = await store.sealClosedHours(H1, 1000);
      expect([first.sealedRecords, first.sealedUnits, first.more]).toEqual([1, MAX_RECORD_QUANTITY, false]);
      // H1 now holds keyB's 7 and the 7 carried from keyA: one of them per call.
      const second = await store.sealClosedHours(H2, 1);
      expect([second.sealedRecords, second.sealedUnits, second.more]).toEqual([1, 7, true]);
      const third = await store.sealClosedHours(H2, 1000);
      expect([third.sealedRecords, third.sealedUnits, third.more]).toEqual([1, 7, false]);
      const none = await store.sealClosedHours(H2, 1000);
      expect([none.sealedRecords, none.sealedUnits, none.more]).toEqual([0, 0, false]);
    });

    it('hands out due records oldest hour first, each under a lease', async () => {
      const store = await make();
      await store.addDeltas([
        { keyId: keyA, hourStart: H1, quantity: 1 },
        { keyId: keyB, hourStart: H0, quantity: 2 },
      ]);
      await sealAll(store, H2);
      const taken = await store.takeDue(H2, 10, LEASE);
      expect(taken.map((e) => e.record.hourStart)).toEqual([H0, H1]);
      expect(taken.every((e) => e.attempts === 1 && e.claim.length > 0)).toBe(true);
      expect(await store.takeDue(H2 + 1, 10, LEASE)).toEqual([]);
    });

    it('hands a record out again, identical, when its lease expires', async () => {
      const store = await make();
      await store.addDeltas([{ keyId: keyA, hourStart: H0, quantity: 9 }]);
      await sealAll(store, H1);
      const [first] = await store.takeDue(H1, 10, LEASE);
      const [again] = await store.takeDue(H1 + LEASE, 10, LEASE);
      expect(again?.record).toEqual(first?.record);
      expect(again?.attempts).toBe(2);
      expect(again?.claim).not.toBe(first?.claim);
    });

    it('ignores a settlement whose claim has been taken over', async () => {
      const store = await make();
      await store.addDeltas([{ keyId: keyA, hourStart: H0, quantity: 1 }]);
      await sealAll(store, H1);
      const first = firstOf(await store.takeDue(H1, 10, LEASE));
      const second = firstOf(await store.takeDue(H1 + LEASE, 10, LEASE));
      const stale = await store.settle([{ kind: 'carry', id: first.record.id, claim: first.claim, at: H1 }]);
      expect(stale).toEqual({ applied: 0, stale: 1 });
      const ok = await store.settle([
        { kind: 'accepted', id: second.record.id, claim: second.claim, meteringRecordId: 'm-1', at: H1 },
      ]);
      expect(ok).toEqual({ applied: 1, stale: 0 });
      expect((await store.stats()).openUnits).toBe(0);
    });

    it('records accepted records in the audit log and removes them from the outbox', async () => {
      const store = await make();
      await store.addDeltas([{ keyId: keyA, hourStart: H0, quantity: 3 }]);
      await sealAll(store, H1);
      const entry = firstOf(await store.takeDue(H1, 10, LEASE));
      await store.settle([
        { kind: 'accepted', id: entry.record.id, claim: entry.claim, meteringRecordId: 'm-9', at: H1 },
      ]);
      const audit = await store.auditLog(10);
      expect(audit).toEqual([
        {
          recordId: entry.record.id,
          keyId: keyA,
          hourStart: H0,
          quantity: 3,
          meteringRecordId: 'm-9',
          acceptedAt: H1,
        },
      ]);
      const stats = await store.stats();
      expect(stats.accepted).toBe(1);
      expect(stats.outboxReady + stats.outboxWaiting + stats.outboxLeased).toBe(0);
    });

    it('keeps a retried record back until its notBefore, then hands it out unchanged', async () => {
      const store = await make();
      await store.addDeltas([{ keyId: keyA, hourStart: H0, quantity: 3 }]);
      await sealAll(store, H1);
      const entry = firstOf(await store.takeDue(H1, 10, LEASE));
      await store.settle([
        { kind: 'retry', id: entry.record.id, claim: entry.claim, notBefore: H1 + 5000, reason: 'x' },
      ]);
      expect(await store.takeDue(H1 + 4999, 10, LEASE)).toEqual([]);
      const [again] = await store.takeDue(H1 + 5000, 10, LEASE);
      expect(again?.record).toEqual(entry?.record);
      expect(again?.attempts).toBe(2);
    });

    it('keeps dead letters with their reason and can requeue them', async () => {
      const store = await make();
      await store.addDeltas([{ keyId: keyA, hourStart: H0, quantity: 3 }]);
      await sealAll(store, H1);
      const entry = firstOf(await store.takeDue(H1, 10, LEASE));
      await store.settle([
        {
          kind: 'dead',
          id: entry.record.id,
          claim: entry.claim,
          reason: 'customer-not-subscribed',
          detail: 'd',
          at: H1,
        },
      ]);
      const letters = await store.deadLetters(10);
      expect(letters.map((l) => [l.record.id, l.reason, l.detail, l.attempts])).toEqual([
        [entry.record.id, 'customer-not-subscribed', 'd', 1],
      ]);
      expect(await store.requeueDeadLetters([entry.record.id], H1 + 1)).toBe(1);
      expect(await store.deadLetters(10)).toEqual([]);
      const [again] = await store.takeDue(H1 + 1, 10, LEASE);
      expect(again?.record).toEqual(entry?.record);
    });

    it('carries a record refused as a duplicate into the next open hour', async () => {
      const store = await make();
      await store.addDeltas([{ keyId: keyA, hourStart: H0, quantity: 6 }]);
      await sealAll(store, H1);
      const entry = firstOf(await store.takeDue(H1, 10, LEASE));
      await store.settle([{ kind: 'carry', id: entry.record.id, claim: entry.claim, at: H1 }]);
      await store.addDeltas([{ keyId: keyA, hourStart: H1, quantity: 1 }]);
      const sealed = await sealAll(store, H2);
      expect(sealed.map((r) => [r.hourStart, r.quantity])).toEqual([[H1, 7]]);
    });

    it('seals tagged and untagged usage of one key and hour into one record with allocations summing to it', async () => {
      const store = await make();
      await store.addDeltas([
        { keyId: keyA, hourStart: H0, quantity: 2 },
        { keyId: keyA, hourStart: H0, quantity: 3, tags: alpha },
        { keyId: keyA, hourStart: H0, quantity: 4, tags: beta },
      ]);
      await store.addDeltas([{ keyId: keyA, hourStart: H0, quantity: 1, tags: alpha }]);
      const sealed = await sealAll(store, H1);
      expect(sealed.map((r) => [r.keyId, r.hourStart, r.quantity])).toEqual([[keyA, H0, 10]]);
      expect(allocationsOf(sealed[0])).toEqual([
        ['', 2],
        ['project=alpha', 4],
        ['project=beta,team=ops', 4],
      ]);
    });

    it('seals a key without tagged usage with no allocations', async () => {
      const store = await make();
      await store.addDeltas([
        { keyId: keyA, hourStart: H0, quantity: 2 },
        { keyId: keyB, hourStart: H0, quantity: 1, tags: alpha },
      ]);
      const sealed = await sealAll(store, H1);
      expect(sealed.find((r) => r.keyId === keyA)?.allocations).toBeUndefined();
      expect(allocationsOf(sealed.find((r) => r.keyId === keyB))).toEqual([['project=alpha', 1]]);
    });

    it('hands a tagged record out again with identical allocations when its lease expires', async () => {
      const store = await make();
      await store.addDeltas([
        { keyId: keyA, hourStart: H0, quantity: 3, tags: alpha },
        { keyId: keyA, hourStart: H0, quantity: 5 },
      ]);
      const [sealed] = await sealAll(store, H1);
      const [first] = await store.takeDue(H1, 10, LEASE);
      const [again] = await store.takeDue(H1 + LEASE, 10, LEASE);
      expect(first?.record).toEqual(sealed);
      expect(again?.record).toEqual(sealed);
    });

    it('carries a tagged total above the maximum with allocations summing exactly in both hours', async () => {
      const store = await make();
      await store.addDeltas([
        { keyId: keyA, hourStart: H0, quantity: MAX_RECORD_QUANTITY - 10, tags: alpha },
        { keyId: keyA, hourStart: H0, quantity: 25, tags: beta },
        { keyId: keyA, hourStart: H0, quantity: 5 },
      ]);
      const [first] = await sealAll(store, H1);
      const [second] = await sealAll(store, H2);
      for (const record of [first, second]) {
        const sum = (record?.allocations ?? []).reduce((total, a) => total + a.quantity, 0);
        expect(sum).toBe(record?.quantity);
      }
      expect(first?.quantity).toBe(MAX_RECORD_QUANTITY);
      expect(second?.quantity).toBe(20);
      const perTagSet = new Map<string, number>();
      for (const record of [first, second])
        for (const [tags, quantity] of allocationsOf(record) ?? [])
          perTagSet.set(tags, (perTagSet.get(tags) ?? 0) + quantity);
      expect([...perTagSet].sort()).toEqual([
        ['', 5],
        ['project=alpha', MAX_RECORD_QUANTITY - 10],
        ['project=beta,team=ops', 25],
      ]);
    });

    it('reports a tagged total cut down to the per-record maximum, with the units it carried', async () => {
      const store = await make();
      await store.addDeltas([
        { keyId: keyA, hourStart: H0, quantity: MAX_RECORD_QUANTITY, tags: alpha },
        { keyId: keyA, hourStart: H0, quantity: 7, tags: beta },
      ]);
      const result = await store.sealClosedHours(H1, 1000);
      expect(result.carried).toEqual([{ keyId: keyA, fromHour: H0, units: 7 }]);
    });

    it('adds tagged totals past 2^53 exactly, each unit billed under its own tags', async () => {
      const store = await make();
      // 2^53 + 1 units for one key and hour, a total no double holds, split over two tag sets and two writes.
      await store.addDeltas([
        { keyId: keyA, hourStart: H0, quantity: Number.MAX_SAFE_INTEGER - 1, tags: alpha },
      ]);
      await store.addDeltas([{ keyId: keyA, hourStart: H0, quantity: 3, tags: beta }]);
      const perTagSet = new Map<string, bigint>();
      let billed = 0n;
      let carriedFromLast = 0n;
      for (const hour of [H1, H2]) {
        const { result, records } = await sealOnce(store, hour, 1000);
        for (const record of records) {
          billed += BigInt(record.quantity);
          const sum = (record.allocations ?? []).reduce((total, a) => total + a.quantity, 0);
          expect(sum).toBe(record.quantity);
          for (const [tags, quantity] of allocationsOf(record) ?? [])
            perTagSet.set(tags, (perTagSet.get(tags) ?? 0n) + BigInt(quantity));
        }
        carriedFromLast = BigInt(result.carried?.[0]?.units ?? 0);
      }
      // Sealed in H0 and H1, and the exact rest carried on from H1: nothing rounded away.
      expect(billed + carriedFromLast).toBe(2n ** 53n + 1n);
      // The units billed so far came from alpha (taken first, in sorted order); beta's 3 are still to come, untouched.
      expect([...perTagSet]).toEqual([['project=alpha', 2n * BigInt(MAX_RECORD_QUANTITY)]]);
      expect(carriedFromLast).toBe(2n ** 53n + 1n - 2n * BigInt(MAX_RECORD_QUANTITY));
    });

    it('carries the allocations of a record refused as a duplicate into the next open hour', async () => {
      const store = await make();
      await store.addDeltas([
        { keyId: keyA, hourStart: H0, quantity: 3, tags: alpha },
        { keyId: keyA, hourStart: H0, quantity: 2 },
      ]);
      await sealAll(store, H1);
      const entry = firstOf(await store.takeDue(H1, 10, LEASE));
      await store.settle([{ kind: 'carry', id: entry.record.id, claim: entry.claim, at: H1 }]);
      await store.addDeltas([{ keyId: keyA, hourStart: H1, quantity: 1, tags: alpha }]);
      const [carried] = await sealAll(store, H2);
      expect([carried?.hourStart, carried?.quantity]).toEqual([H1, 6]);
      expect(allocationsOf(carried)).toEqual([
        ['', 2],
        ['project=alpha', 4],
      ]);
    });

    it('keeps allocations on a dead letter and on its requeued record', async () => {
      const store = await make();
      await store.addDeltas([{ keyId: keyA, hourStart: H0, quantity: 3, tags: alpha }]);
      const sealed = firstOf(await sealAll(store, H1));
      const entry = firstOf(await store.takeDue(H1, 10, LEASE));
      await store.settle([
        { kind: 'dead', id: entry.record.id, claim: entry.claim, reason: 'rejected', detail: 'x', at: H1 },
      ]);
      expect((await store.deadLetters(10))[0]?.record).toEqual(sealed);
      await store.requeueDeadLetters([sealed.id], H1);
      const [again] = await store.takeDue(H1 + 1, 10, LEASE);
      expect(again?.record).toEqual(sealed);
    });

    it('rolls tag sets past the allocation limit into the untagged allocation, losing nothing', async () => {
      const store = await make();
      const extra = 3;
      const deltas = [];
      for (let i = 0; i < MAX_ALLOCATIONS_PER_RECORD + extra; i++)
        deltas.push({ keyId: keyA, hourStart: H0, quantity: 2, tags: tagSetIdOf({ n: String(i) }) });
      await store.addDeltas(deltas);
      const { result, records } = await sealOnce(store, H1, 10);
      const [record] = records;
      expect(record?.quantity).toBe(2 * (MAX_ALLOCATIONS_PER_RECORD + extra));
      expect(record?.allocations).toHaveLength(MAX_ALLOCATIONS_PER_RECORD);
      expect(record?.allocations?.reduce((total, a) => total + a.quantity, 0)).toBe(record?.quantity);
      const untagged = record?.allocations?.find((a) => a.tags.length === 0);
      expect(untagged?.quantity).toBe(2 * (extra + 1));
      expect(result.rolledUpTagSets).toBe(extra + 1);
    });

    it('keeps the allocations of a record within the byte budget, billing the rest untagged', async () => {
      const store = await make();
      const sets = 2_300;
      const deltas = [];
      for (let i = 0; i < sets; i++)
        deltas.push({
          keyId: keyA,
          hourStart: H0,
          quantity: 1,
          tags: tagSetIdOf({ k: String(i).padStart(256, 'v') }),
        });
      await store.addDeltas(deltas);
      const { result, records } = await sealOnce(store, H1, 10);
      const allocations = records[0]?.allocations ?? [];
      let bytes = 0;
      for (const a of allocations) bytes += 160 + tagSetIdOfTags(a.tags).length;
      expect(bytes).toBeLessThanOrEqual(MAX_ALLOCATION_BYTES_PER_RECORD);
      expect(allocations.reduce((total, a) => total + a.quantity, 0)).toBe(sets);
      const untagged = allocations.find((a) => a.tags.length === 0)?.quantity ?? 0;
      expect(untagged).toBe(result.rolledUpTagSets);
      expect(untagged).toBeGreaterThan(0);
    });

    it('bills a tag set that would bring a sixth distinct tag key to the record in its untagged allocation', async () => {
      const store = await make();
      await store.addDeltas(
        ['a', 'b', 'c', 'd', 'e', 'f'].map((key, i) => ({
          keyId: keyA,
          hourStart: H0,
          quantity: i + 1,
          tags: tagSetIdOf({ [key]: 'x' }),
        })),
      );
      const { result, records } = await sealOnce(store, H1, 10);
      expect(allocationsOf(records[0])).toEqual([
        ['', 6],
        ['a=x', 1],
        ['b=x', 2],
        ['c=x', 3],
        ['d=x', 4],
        ['e=x', 5],
      ]);
      expect(result.rolledUpTagSets).toBe(1);
    });

    it('lists pending records oldest first', async () => {
      const store = await make();
      await store.addDeltas([
        { keyId: keyA, hourStart: H1, quantity: 1 },
        { keyId: keyA, hourStart: H0, quantity: 1 },
      ]);
      await sealAll(store, H2);
      expect((await store.pending(10)).map((r) => r.hourStart)).toEqual([H0, H1]);
    });

    if (options.reopen) {
      const reopen = options.reopen;
      it('keeps open hours, the outbox and dead letters across a restart', async () => {
        const store = await make();
        await store.addDeltas([
          { keyId: keyA, hourStart: H0, quantity: 2 },
          { keyId: keyB, hourStart: H1, quantity: 5 },
        ]);
        await sealAll(store, H1);
        const reopened = await reopen(store);
        opened.push(reopened);
        const [entry] = await reopened.takeDue(H1, 10, LEASE);
        expect([entry?.record.keyId, entry?.record.quantity]).toEqual([keyA, 2]);
        expect((await reopened.stats()).openUnits).toBe(5);
      });
    }
  });
}
