import {
  type CustomerRef,
  HOUR_MILLIS,
  MemoryStore,
  MeteringEventEmitter,
  type UsageRecord,
} from '@meterkit/core';
import { keyIdFor, MAX_RECORD_QUANTITY, type UsageDelta } from '@meterkit/core/store';
import { sealAndReadBack } from '@meterkit/core/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Tally } from '../../src/tally/tally.js';

const NUM_RUNS = 1_000;
const H0 = Date.UTC(2026, 10, 26, 10);
const CUSTOMERS: readonly CustomerRef[] = [
  { customerIdentifier: 'cust-a', productCode: 'prod-one' },
  {
    awsAccountId: '111122223333',
    licenseArn: 'arn:aws:license-manager::111122223333:license:l-b',
    productCode: 'prod-one',
  },
  { customerIdentifier: 'cust-c', productCode: 'prod-two' },
];
const DIMENSIONS = ['api_calls', 'gb_stored'];

/** One step of the request path or the background work, in the order the test gives them. */
const opArb = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('record' as const),
      customer: fc.nat(CUSTOMERS.length - 1),
      dimension: fc.nat(DIMENSIONS.length - 1),
      quantity: fc.oneof(
        { weight: 10, arbitrary: fc.nat(1_000) },
        {
          weight: 1,
          arbitrary: fc.integer({ min: MAX_RECORD_QUANTITY - 5, max: MAX_RECORD_QUANTITY }),
        },
      ),
      /** Hours before the tally's current hour (late usage), 0 for now. */
      hoursLate: fc.oneof(
        { weight: 3, arbitrary: fc.constant(0) },
        { weight: 1, arbitrary: fc.integer({ min: 1, max: 3 }) },
      ),
    }),
  },
  { weight: 2, arbitrary: fc.constant({ kind: 'checkpoint' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'next-hour' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('seal' as const), limit: fc.integer({ min: 1, max: 4 }) }),
  },
);

function keyOf(customer: CustomerRef, dimension: string): string {
  return keyIdFor(customer, dimension, customer.productCode as string);
}

describe('tally and store maths', () => {
  it(`seals what was recorded, one record per key and hour, none above 2,147,483,647 (${NUM_RUNS} runs)`, async () => {
    let cases = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(opArb, { maxLength: 60 }),
        fc.integer({ min: 1, max: 4 }),
        async (ops, maxLiveKeys) => {
          cases += 1;
          const events = new MeteringEventEmitter((error) => {
            throw error;
          });
          const settings = {
            productCode: undefined,
            dimensions: undefined,
            maxLiveKeys,
            onMaxLiveKeys: 'checkpoint' as const,
          };
          const tally = new Tally(settings, events, H0, () => {});
          const store = new MemoryStore();
          const sealed: UsageRecord[] = [];
          const recorded = new Map<string, number>();
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
              expect(tally.record(customer, dimension, op.quantity, at)).toBe(true);
              const keyId = keyOf(customer, dimension);
              recorded.set(keyId, (recorded.get(keyId) ?? 0) + op.quantity);
            } else if (op.kind === 'checkpoint') {
              await checkpoint();
            } else if (op.kind === 'next-hour') {
              tally.rollTo(tally.hourStart + HOUR_MILLIS);
            } else {
              await checkpoint();
              await seal(op.limit);
            }
          }
          // Close everything: the overflow of a huge total may need several more hours.
          await checkpoint();
          for (let i = 0; i < 8 && (await store.stats()).openUnits > 0; i++) {
            tally.rollTo(tally.hourStart + HOUR_MILLIS);
            await seal(5);
          }
          expect((await store.stats()).openUnits).toBe(0);

          const sealedByKey = new Map<string, number>();
          const slots = new Set<string>();
          for (const r of sealed) {
            sealedByKey.set(r.keyId, (sealedByKey.get(r.keyId) ?? 0) + r.quantity);
            const slot = `${r.keyId}\n${r.hourStart}`;
            expect(slots.has(slot)).toBe(false);
            slots.add(slot);
            expect(r.quantity).toBeLessThanOrEqual(MAX_RECORD_QUANTITY);
            expect(Number.isSafeInteger(r.quantity) && r.quantity > 0).toBe(true);
            expect(r.hourStart % HOUR_MILLIS).toBe(0);
          }
          const positive = new Map([...recorded].filter(([, q]) => q > 0));
          expect(sealedByKey).toEqual(positive);
        },
      ),
      { numRuns: NUM_RUNS },
    );
    console.info(`tally and store maths property: ${cases} cases passed`);
    expect(cases).toBe(NUM_RUNS);
  });
});
