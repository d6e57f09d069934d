// Property: every record in exactly one batch, one group per batch, within the limits, order kept per group.
import { HOUR_MILLIS, type UsageRecord } from '@meterkit/core';
import { keyIdOf, sealRecord } from '@meterkit/core/store';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { groupIntoBatches } from '../../src/sink/group-into-batches.js';

const NUM_RUNS = 1_000;
const H0 = Date.UTC(2026, 10, 26, 10);

const recordsArb = fc
  .array(
    fc.record({
      product: fc.constantFrom('prod-a', 'prod-b', 'prod-c'),
      customer: fc.string({ minLength: 1, maxLength: 40 }),
      hour: fc.nat(5),
      quantity: fc.nat(1_000),
    }),
    { maxLength: 200 },
  )
  .map((specs) =>
    specs.map((s, i) =>
      sealRecord(
        keyIdOf({ productCode: s.product, dimension: `d${i}`, customerIdentifier: s.customer }),
        H0 + s.hour * HOUR_MILLIS,
        s.quantity,
      ),
    ),
  );

const limitsArb = fc.record({
  maxRecords: fc.integer({ min: 1, max: 25 }),
  maxBytes: fc.integer({ min: 1_000, max: 20_000 }),
  overheadBytes: fc.integer({ min: 0, max: 400 }),
  perRecord: fc.integer({ min: 50, max: 900 }),
});

describe('groupIntoBatches', () => {
  it(`puts every record in exactly one batch, one group per batch, within the limits, in order (${NUM_RUNS} runs)`, () => {
    let cases = 0;
    fc.assert(
      fc.property(recordsArb, limitsArb, (records, l) => {
        cases += 1;
        const recordBytes = (r: UsageRecord) => l.perRecord + r.keyId.length;
        const batches = groupIntoBatches(records, { ...l, recordBytes, groupOf: (r) => r.key.productCode });

        const seen = batches.flat();
        expect(seen).toHaveLength(records.length);
        expect(new Set(seen).size).toBe(records.length);
        for (const batch of batches) {
          expect(batch.length).toBeGreaterThan(0);
          expect(batch.length).toBeLessThanOrEqual(l.maxRecords);
          expect(new Set(batch.map((r) => r.key.productCode)).size).toBe(1);
          const bytes = l.overheadBytes + batch.reduce((sum, r) => sum + recordBytes(r), 0);
          // A record too big to share a call goes alone rather than being dropped.
          if (batch.length > 1) expect(bytes).toBeLessThan(l.maxBytes);
        }
        // Within each product, the input order (oldest first) is kept across and within batches.
        for (const product of new Set(records.map((r) => r.key.productCode))) {
          const input = records.filter((r) => r.key.productCode === product);
          const output = seen.filter((r) => r.key.productCode === product);
          expect(output).toEqual(input);
        }
      }),
      { numRuns: NUM_RUNS },
    );
    console.info(`groupIntoBatches property: ${cases} cases passed`);
    expect(cases).toBe(NUM_RUNS);
  });
});
