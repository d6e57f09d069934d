// Property tests for the exact-sum and carry maths: no unit is rounded away, however large the totals grow.
import { HOUR_MILLIS, MemoryStore } from '@meterkit/core';
import { keyIdOf, MAX_RECORD_QUANTITY, type UsageDelta } from '@meterkit/core/store';
import { sealAndReadBack } from '@meterkit/core/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UnwrittenDeltas } from '../../src/engine/unwritten-deltas.js';

const NUM_RUNS = 300;
const H0 = Date.UTC(2026, 10, 26, 10);
const KEYS = ['a', 'b'].map((c) =>
  keyIdOf({ productCode: 'prod-1', dimension: 'api_calls', customerIdentifier: `cust-${c}` }),
);

/** Any delta a checkpoint may send: small ones, the per-record maximum, and ones near 2^53 (spilled tally counts). */
const quantityArb = fc.oneof(
  { weight: 3, arbitrary: fc.nat(1_000) },
  { weight: 1, arbitrary: fc.constant(MAX_RECORD_QUANTITY) },
  {
    weight: 2,
    arbitrary: fc.integer({ min: Number.MAX_SAFE_INTEGER - 5_000, max: Number.MAX_SAFE_INTEGER }),
  },
);

const sum = (values: Iterable<number>) => {
  let total = 0n;
  for (const value of values) total += BigInt(value);
  return total;
};

describe('exact sums', () => {
  it(`the memory store seals or carries every unit added, exactly, and no record above the maximum (${NUM_RUNS} runs)`, async () => {
    // Per key: maybe one delta near 2^53 (a spilled tally count), and small ones or the maximum, in any order. The
    // total stays below 2^53 - 1 + 2,147,483,647, so whatever overflows when adding is sealed within the six hours.
    const keyDeltasArb = fc
      .record({
        big: fc.option(
          fc.integer({ min: Number.MAX_SAFE_INTEGER - 10_000, max: Number.MAX_SAFE_INTEGER - 5_000 }),
        ),
        max: fc.boolean(),
        small: fc.array(fc.nat(1_000), { maxLength: 2 }),
      })
      .chain(({ big, max, small }) =>
        fc.shuffledSubarray(
          [...(big === null ? [] : [big]), ...(max ? [MAX_RECORD_QUANTITY] : []), ...small],
          {
            minLength: 0,
          },
        ),
      );
    await fc.assert(
      fc.asyncProperty(fc.tuple(keyDeltasArb, keyDeltasArb), async (perKey) => {
        const store = new MemoryStore();
        for (const [index, quantities] of perKey.entries()) {
          for (const quantity of quantities) {
            await store.addDeltas([{ keyId: KEYS[index] as string, hourStart: H0, quantity }]);
          }
        }
        const sealed = new Map<string, bigint>();
        let carriedOut = new Map<string, bigint>();
        for (let hour = 1; hour <= 6; hour++) {
          const { result, records } = await sealAndReadBack(store, H0 + hour * HOUR_MILLIS, 1_000);
          for (const record of records) {
            expect(record.quantity).toBeLessThanOrEqual(MAX_RECORD_QUANTITY);
            sealed.set(record.keyId, (sealed.get(record.keyId) ?? 0n) + BigInt(record.quantity));
          }
          carriedOut = new Map();
          for (const carry of result.carried ?? []) {
            expect(Number.isSafeInteger(carry.units)).toBe(true);
            carriedOut.set(carry.keyId, BigInt(carry.units));
          }
        }
        for (const [index, keyId] of KEYS.entries()) {
          // Sealed in six hours, plus what the last of them carried on: exactly what was added.
          expect((sealed.get(keyId) ?? 0n) + (carriedOut.get(keyId) ?? 0n)).toBe(sum(perKey[index] ?? []));
        }
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it(`a hour's record carries min(total, maximum) and the carry is the exact rest (${NUM_RUNS} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(quantityArb, { minLength: 1, maxLength: 2 }), async (quantities) => {
        const store = new MemoryStore();
        for (const quantity of quantities) {
          await store.addDeltas([{ keyId: KEYS[0] as string, hourStart: H0, quantity }]);
        }
        const { result, records } = await sealAndReadBack(store, H0 + HOUR_MILLIS, 1_000);
        const total = sum(quantities);
        const held = total > BigInt(Number.MAX_SAFE_INTEGER) ? BigInt(Number.MAX_SAFE_INTEGER) : total;
        const expected = held > BigInt(MAX_RECORD_QUANTITY) ? BigInt(MAX_RECORD_QUANTITY) : held;
        expect(sum(records.map((r) => r.quantity))).toBe(total === 0n ? 0n : expected);
        expect(sum((result.carried ?? []).map((c) => c.units))).toBe(held - expected);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it(`unwritten deltas reach the store exactly once, merged or not, through any outage (${NUM_RUNS} runs)`, () => {
    const stepArb = fc.oneof(
      fc.record({
        kind: fc.constant('push' as const),
        deltas: fc.array(
          fc.record({ key: fc.nat(KEYS.length - 1), hour: fc.nat(2), quantity: quantityArb }),
          { minLength: 1, maxLength: 4 },
        ),
      }),
      fc.record({
        kind: fc.constant('write' as const),
        ok: fc.boolean(),
        limit: fc.integer({ min: 1, max: 3 }),
      }),
    );
    fc.assert(
      fc.property(fc.array(stepArb, { maxLength: 40 }), (steps) => {
        const queue = new UnwrittenDeltas();
        const pushed = new Map<string, bigint>();
        const written = new Map<string, bigint>();
        const add = (map: Map<string, bigint>, d: UsageDelta) => {
          const key = `${d.hourStart}|${d.keyId}`;
          map.set(key, (map.get(key) ?? 0n) + BigInt(d.quantity));
        };
        const write = (ok: boolean, limit: number) => {
          const batch = queue.next(limit);
          if (batch === undefined) return false;
          if (!ok) {
            queue.storeFailed();
            return false;
          }
          for (const d of batch) {
            expect(Number.isSafeInteger(d.quantity)).toBe(true);
            add(written, d);
          }
          queue.written(batch);
          return true;
        };
        for (const step of steps) {
          if (step.kind === 'push') {
            const deltas = step.deltas.map((d) => ({
              keyId: KEYS[d.key] as string,
              hourStart: H0 + d.hour * HOUR_MILLIS,
              quantity: d.quantity,
            }));
            for (const d of deltas) add(pushed, d);
            queue.push(deltas);
          } else {
            write(step.ok, step.limit);
          }
        }
        while (write(true, 3));
        expect(queue.size).toBe(0);
        expect(written).toEqual(pushed);
      }),
      { numRuns: NUM_RUNS },
    );
  });
});
