import {
  type CustomerRef,
  HOUR_MILLIS,
  MemoryStore,
  MeteringEventEmitter,
  type UsageRecord,
  type UsageTags,
} from '@meterkit/core';
import { keyIdFor, MAX_RECORD_QUANTITY, type UsageDelta } from '@meterkit/core/store';
import { sealAndReadBack } from '@meterkit/core/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Tally } from '../../src/tally/tally.js';

const NUM_RUNS = 500;
const H0 = Date.UTC(2026, 10, 26, 10);
const LEASE = 60_000;
const CUSTOMERS: readonly CustomerRef[] = [
  { customerIdentifier: 'cust-a', productCode: 'prod-one' },
  {
    awsAccountId: '111122223333',
    licenseArn: 'arn:aws:license-manager::111122223333:license:l-b',
    productCode: 'prod-one',
  },
];
const DIMENSIONS = ['api_calls', 'gb_stored'];
/** Index 0 is untagged; the same set written in another key order must be the same allocation. */
const TAG_SETS: readonly (UsageTags | undefined)[] = [
  undefined,
  { project: 'alpha' },
  { project: 'beta', team: 'ops' },
  { team: 'ops', project: 'beta' },
  { env: 'prod' },
];
const canonical = (tag: number) => (tag === 3 ? 2 : tag);

const opArb = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('record' as const),
      customer: fc.nat(CUSTOMERS.length - 1),
      dimension: fc.nat(DIMENSIONS.length - 1),
      tag: fc.nat(TAG_SETS.length - 1),
      quantity: fc.oneof(
        { weight: 10, arbitrary: fc.nat(1_000) },
        // The most one call may count: two of them in a key's hour pass the per-record maximum and carry.
        { weight: 1, arbitrary: fc.integer({ min: MAX_RECORD_QUANTITY - 5, max: MAX_RECORD_QUANTITY }) },
      ),
      hoursLate: fc.oneof(
        { weight: 3, arbitrary: fc.constant(0) },
        { weight: 1, arbitrary: fc.integer({ min: 1, max: 2 }) },
      ),
    }),
  },
  { weight: 2, arbitrary: fc.constant({ kind: 'checkpoint' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'next-hour' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('seal' as const), limit: fc.integer({ min: 1, max: 4 }) }),
  },
  /** AWS refuses the oldest sealed record as DuplicateRecord: it is carried, allocations and all. */
  { weight: 1, arbitrary: fc.constant({ kind: 'duplicate' as const }) },
);

function tagLabel(tags: readonly { key: string; value: string }[]): string {
  return tags.map((t) => `${t.key}=${t.value}`).join(',');
}
const LABELS = TAG_SETS.map((tags) =>
  tagLabel(
    Object.entries(tags ?? {})
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([key, value]) => ({ key, value })),
  ),
);

describe('usage allocations', () => {
  it(`bills, per key and hour, one record whose allocations sum to it, and per tag set what was recorded (${NUM_RUNS} runs)`, async () => {
    let cases = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { maxLength: 60 }), async (ops) => {
        cases += 1;
        const events = new MeteringEventEmitter((error) => {
          throw error;
        });
        const settings = {
          productCode: undefined,
          dimensions: undefined,
          maxLiveKeys: 1_000,
          onMaxLiveKeys: 'checkpoint' as const,
        };
        const tally = new Tally(settings, events, H0, () => {});
        const store = new MemoryStore();
        const recorded = new Map<string, number>();
        const carried = new Set<string>();
        const sealed: UsageRecord[] = [];
        const checkpoint = async () => {
          const slices: UsageDelta[][] = [];
          await tally.drain(
            3,
            (deltas) => slices.push(deltas),
            async () => {},
          );
          for (const deltas of slices) await store.addDeltas(deltas);
        };
        const seal = async (limit: number) => {
          for (;;) {
            const { result, records } = await sealAndReadBack(store, tally.hourStart, limit);
            sealed.push(...records);
            if (!result.more) return;
          }
        };
        for (const op of ops) {
          if (op.kind === 'record') {
            const customer = CUSTOMERS[op.customer] as CustomerRef;
            const dimension = DIMENSIONS[op.dimension] as string;
            const at = op.hoursLate === 0 ? undefined : tally.hourStart - op.hoursLate * HOUR_MILLIS + 1;
            expect(tally.record(customer, dimension, op.quantity, at, TAG_SETS[op.tag])).toBe(true);
            const slot = `${keyIdFor(customer, dimension, 'prod-one')}\n${LABELS[canonical(op.tag)]}`;
            recorded.set(slot, (recorded.get(slot) ?? 0) + op.quantity);
          } else if (op.kind === 'checkpoint') {
            await checkpoint();
          } else if (op.kind === 'next-hour') {
            tally.rollTo(tally.hourStart + HOUR_MILLIS);
          } else if (op.kind === 'seal') {
            await checkpoint();
            await seal(op.limit);
          } else {
            const [entry] = await store.takeDue(Number.MAX_SAFE_INTEGER / 2, 1, LEASE);
            if (entry === undefined) continue;
            carried.add(entry.record.id);
            await store.settle([{ kind: 'carry', id: entry.record.id, claim: entry.claim, at: H0 }]);
          }
        }
        await checkpoint();
        for (let i = 0; i < 8 && (await store.stats()).openUnits > 0; i++) {
          tally.rollTo(tally.hourStart + HOUR_MILLIS);
          await seal(5);
        }
        expect((await store.stats()).openUnits).toBe(0);

        const billed = new Map<string, number>();
        const slots = new Set<string>();
        for (const record of sealed) {
          const slot = `${record.keyId}\n${record.hourStart}`;
          expect(slots.has(slot)).toBe(false);
          slots.add(slot);
          expect(record.quantity).toBeLessThanOrEqual(MAX_RECORD_QUANTITY);
          const allocations = record.allocations ?? [{ tags: [], quantity: record.quantity }];
          expect(allocations.reduce((sum, a) => sum + a.quantity, 0)).toBe(record.quantity);
          const tagSets = allocations.map((a) => tagLabel(a.tags));
          expect(new Set(tagSets).size).toBe(tagSets.length);
          if (carried.has(record.id)) continue;
          for (const allocation of allocations) {
            const key = `${record.keyId}\n${tagLabel(allocation.tags)}`;
            billed.set(key, (billed.get(key) ?? 0) + allocation.quantity);
          }
        }
        const positive = new Map([...recorded].filter(([, q]) => q > 0));
        const billedPositive = new Map([...billed].filter(([, q]) => q > 0));
        expect(billedPositive).toEqual(positive);
      }),
      { numRuns: NUM_RUNS },
    );
    expect(cases).toBe(NUM_RUNS);
  });
});
