// How records form BatchMeterUsage calls: every record in exactly one call of one product and one kind of customer id,
// at most 25 records and a request under 1 MB, checked on random records and against the emulator with the real SDK.

import type { UsageRecord } from '@meterkit/core';
import { encodeAllocations } from '@meterkit/core/sink';
import { keyIdOf, sealRecord, tagSetIdOf } from '@meterkit/core/store';
import { startEmulator } from '@meterkit/emulator';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildBatchInput } from '../src/batch-calls.js';
import { MarketplaceMeteringSink } from '../src/marketplace-metering-sink.js';
import { HOUR_START } from './helpers/records.js';

const NUM_RUNS = 100;
const noSignal = { signal: new AbortController().signal };
const credentials = { accessKeyId: 'AKIDBATCHCALLS', secretAccessKey: 'not-a-secret' };

interface RecordSpec {
  readonly product: string;
  readonly license: boolean;
  readonly customer: number;
  /** Tag sets (0: untagged) and the length of each one's tag value. */
  readonly tagSets: number;
  readonly valueLength: number;
}

function recordOf(spec: RecordSpec, index: number): UsageRecord {
  const account = String(100_000_000_000 + spec.customer);
  const key = spec.license
    ? {
        productCode: spec.product,
        awsAccountId: account,
        licenseArn: `arn:aws:license-manager::${account}:license:l-${spec.customer.toString(16).padStart(32, '0')}`,
        dimension: `d${index}`,
      }
    : { productCode: spec.product, customerIdentifier: `cust-${spec.customer}`, dimension: `d${index}` };
  if (spec.tagSets === 0) return sealRecord(keyIdOf(key), HOUR_START, 1 + index);
  const parts: [string, number][] = [];
  for (let i = 0; i < spec.tagSets; i++) {
    const value = `${String(i).padStart(4, '0')}${'v'.repeat(Math.max(0, spec.valueLength - 4))}`;
    parts.push([tagSetIdOf({ project: value }), 1]);
  }
  return sealRecord(keyIdOf(key), HOUR_START, spec.tagSets, encodeAllocations(parts));
}

const specArb = fc.record({
  product: fc.constantFrom('prod-a', 'prod-b'),
  license: fc.boolean(),
  customer: fc.nat(10_000),
  tagSets: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 300 })),
  valueLength: fc.integer({ min: 4, max: 250 }),
});

/** The request body the SDK sends for a call (awsJson1_1: a timestamp goes as epoch seconds). */
function requestBytes(records: readonly UsageRecord[]): number {
  return Buffer.byteLength(
    JSON.stringify(buildBatchInput(records), (_key, value: unknown) =>
      typeof value === 'string' && /^\d{4}-\d\d-\d\dT/.test(value) ? Date.parse(value) / 1000 : value,
    ),
  );
}

const groupOf = (r: UsageRecord) =>
  `${r.key.licenseArn === undefined ? 'legacy' : 'license'} ${r.key.productCode}`;

describe('MarketplaceMeteringSink.planBatches', () => {
  it(`puts every record in exactly one call of one product and kind, ≤ 25 records, < 1 MB, order kept (${NUM_RUNS} runs)`, () => {
    const sink = new MarketplaceMeteringSink({ clientConfig: { region: 'us-east-1' } });
    fc.assert(
      fc.property(fc.array(specArb, { maxLength: 60 }), (specs) => {
        const records = specs.map(recordOf);
        const batches = sink.planBatches(records);
        const seen = batches.flat();
        expect(seen).toHaveLength(records.length);
        expect(new Set(seen).size).toBe(records.length);
        for (const batch of batches) {
          expect(batch.length).toBeGreaterThan(0);
          expect(batch.length).toBeLessThanOrEqual(25);
          expect(new Set(batch.map(groupOf)).size).toBe(1);
          expect(requestBytes(batch)).toBeLessThan(1_000_000);
        }
        for (const group of new Set(records.map(groupOf))) {
          expect(seen.filter((r) => groupOf(r) === group)).toEqual(
            records.filter((r) => groupOf(r) === group),
          );
        }
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('plans calls the service accepts, each batch sent as exactly one call', async () => {
    // Prepare: legacy and license customers of two products, and records big enough that 1 MB bites before 25.
    const emulator = await startEmulator({ port: 0, now: () => HOUR_START + 90 * 60_000 });
    const sink = new MarketplaceMeteringSink({
      clientConfig: { endpoint: emulator.endpoint, region: 'us-east-1', credentials },
    });
    try {
      const specs: RecordSpec[] = [];
      for (let i = 0; i < 30; i++)
        specs.push({ product: 'prod-a', license: false, customer: i, tagSets: 0, valueLength: 4 });
      for (let i = 0; i < 30; i++)
        specs.push({ product: 'prod-a', license: true, customer: i, tagSets: 0, valueLength: 4 });
      for (let i = 0; i < 8; i++)
        specs.push({ product: 'prod-b', license: false, customer: i, tagSets: 400, valueLength: 250 });
      const records = specs.map(recordOf);
      const batches = sink.planBatches(records);
      // Act
      const responses = [];
      for (const batch of batches) responses.push(await sink.export(batch, noSignal));
      // Assess
      const sizes = (product: string, license: boolean) =>
        batches
          .filter(
            (b) => b[0]?.key.productCode === product && (b[0]?.key.licenseArn !== undefined) === license,
          )
          .map((b) => b.length);
      expect([sizes('prod-a', false), sizes('prod-a', true)]).toEqual([
        [25, 5],
        [25, 5],
      ]);
      // About 250 KB each: the 1 MB bound splits these well before 25.
      expect(sizes('prod-b', false).every((n) => n > 1 && n < 8)).toBe(true);
      for (const [i, response] of responses.entries()) {
        expect(response.status).toBe('done');
        if (response.status !== 'done') continue;
        expect(response.outcomes.map((o) => o.status)).toEqual(batches[i]?.map(() => 'success'));
      }
      const calls = emulator.ledger.calls().filter((c) => c.operation === 'BatchMeterUsage');
      expect(calls.map((c) => [c.statusCode, c.recordCount])).toEqual(batches.map((b) => [200, b.length]));
      expect(emulator.ledger.records()).toHaveLength(records.length);
    } finally {
      await sink.shutdown();
      await emulator.close();
    }
  });
});
