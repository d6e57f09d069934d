import {
  type CustomerRef,
  createMeteringEngine,
  HOUR_MILLIS,
  silentLogger,
  type UsageRecord,
} from '@meterkit/core';
import { keyIdFor } from '@meterkit/core/store';
import { InMemorySink, ManualClock, type SinkFault, seededRandom } from '@meterkit/core/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const NUM_RUNS = 1_000;
const H0 = Date.UTC(2026, 10, 26, 10);
const STEP_MILLIS = 20 * 60_000;
const USAGE_STEPS = 6; // two hours of traffic
const SETTLE_STEPS = 16; // then four hours with no faults
const DIMENSIONS = ['api_calls', 'gb_stored'] as const;
const CUSTOMERS: readonly CustomerRef[] = [
  { customerIdentifier: 'cust-a', productCode: 'prod-one' },
  { customerIdentifier: 'cust-b', productCode: 'prod-two' },
  {
    awsAccountId: '111122223333',
    licenseArn: 'arn:aws:license-manager::111122223333:license:l-c',
    productCode: 'prod-one',
  },
  {
    awsAccountId: '444455556666',
    licenseArn: 'arn:aws:license-manager::444455556666:license:l-d',
    productCode: 'prod-two',
  },
];

function keyOf(customer: CustomerRef, dimension: string): string {
  return keyIdFor(customer, dimension, customer.productCode as string);
}

const usageArb = fc.record({
  customer: fc.nat(CUSTOMERS.length - 1),
  dimension: fc.nat(DIMENSIONS.length - 1),
  quantity: fc.oneof(
    { weight: 20, arbitrary: fc.nat(50) },
    { weight: 1, arbitrary: fc.constant(2_147_483_647) },
  ),
  step: fc.nat(USAGE_STEPS - 1),
  /** 0: now; n: stamped `at` n hours earlier (late arrival). */
  hoursLate: fc.oneof(
    { weight: 4, arbitrary: fc.constant(0) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 2 }) },
  ),
});

const faultArb: fc.Arbitrary<SinkFault | undefined> = fc.oneof(
  fc.constant(undefined),
  fc.constant({ kind: 'throttle' } as const),
  fc.constant({ kind: 'server-error' } as const),
  fc.constant({ kind: 'network' } as const),
  fc.constant({ kind: 'lost-after-commit' } as const),
  fc.constant({ kind: 'failed', code: 'AccessDeniedException' } as const),
  fc
    .uniqueArray(fc.nat(24), { maxLength: 4 })
    .map((indexes): SinkFault => ({ kind: 'unprocessed', indexes })),
);

const worldArb = fc
  .record({
    usage: fc.array(usageArb, { minLength: 1, maxLength: 25 }),
    faults: fc.array(faultArb, { maxLength: 15 }),
    /** A customer whose records every call refuses at request level (a poisoned record), or none. */
    poisoned: fc.option(fc.nat(CUSTOMERS.length - 1), { nil: undefined }),
    /** A customer who is not subscribed, or none. */
    unsubscribed: fc.option(fc.nat(CUSTOMERS.length - 1), { nil: undefined }),
    /** (customer, dimension, hour offset) slots another sender billed first, so ours come back DuplicateRecord. */
    foreign: fc.uniqueArray(
      fc.tuple(fc.nat(CUSTOMERS.length - 1), fc.nat(DIMENSIONS.length - 1), fc.integer({ min: -2, max: 2 })),
      { maxLength: 3, selector: (t) => t.join() },
    ),
    identicalResendIsDuplicate: fc.boolean(),
    seed: fc.integer(),
  })
  .map((world) =>
    // When the service may answer DuplicateRecord to our own identical resend, a DuplicateRecord after a lost answer
    // cannot tell "ours landed" from "another sender's": no sender can get both right, so those worlds hold no
    // foreign records (the dispatcher unit tests cover each side).
    world.identicalResendIsDuplicate ? { ...world, foreign: [] } : world,
  );

type World = typeof worldArb extends fc.Arbitrary<infer W> ? W : never;

async function simulate(world: World) {
  const clock = new ManualClock(H0);
  let faultsOn = true;
  const poisonedKey = world.poisoned === undefined ? undefined : CUSTOMERS[world.poisoned];
  const sink = new InMemorySink({
    clock,
    identicalResendIsDuplicate: world.identicalResendIsDuplicate,
    faults: (_, call) => (faultsOn ? world.faults[call] : undefined),
    invalid: (record) =>
      poisonedKey !== undefined &&
      (record.key.customerIdentifier ?? record.key.licenseArn) ===
        (poisonedKey.customerIdentifier ?? poisonedKey.licenseArn)
        ? 'InvalidUsageAllocationsException'
        : undefined,
  });
  if (world.unsubscribed !== undefined) {
    const c = CUSTOMERS[world.unsubscribed] as CustomerRef;
    sink.unsubscribed.add((c.licenseArn ?? c.customerIdentifier) as string);
  }
  const foreignIds = new Set<string>();
  for (const [c, d, hour] of world.foreign) {
    const keyId = keyOf(CUSTOMERS[c] as CustomerRef, DIMENSIONS[d] as string);
    const hourStart = H0 + hour * HOUR_MILLIS;
    const id = `foreign-${foreignIds.size}`;
    foreignIds.add(id);
    // Quantity 0 never equals one of ours (the tally never seals an empty key), so ours is always a DuplicateRecord.
    const record = { id, keyId, key: {} as UsageRecord['key'], hourStart, quantity: 0 };
    sink.ledger.set(`${keyId}\n${hourStart}`, { record, meteringRecordId: id });
  }

  const engine = createMeteringEngine({
    sink,
    clock,
    timers: clock,
    logger: silentLogger,
    productCode: 'prod-one',
    random: seededRandom(world.seed),
    scheduling: 'external',
    retryBaseMillis: 1_000,
    retryMaxMillis: 60_000,
    failedRetryMillis: 30_000,
    maxConcurrentExports: 2,
  });
  await engine.start();

  const recorded = new Map<string, number>();
  for (let step = 0; step < USAGE_STEPS + SETTLE_STEPS; step++) {
    if (step === USAGE_STEPS) faultsOn = false;
    await clock.advanceTo(H0 + step * STEP_MILLIS);
    for (const u of world.usage) {
      if (u.step !== step) continue;
      const customer = CUSTOMERS[u.customer] as CustomerRef;
      const dimension = DIMENSIONS[u.dimension] as string;
      const at = u.hoursLate === 0 ? undefined : clock.now() - u.hoursLate * HOUR_MILLIS;
      if (engine.record(customer, dimension, u.quantity, at)) {
        const keyId = keyOf(customer, dimension);
        recorded.set(keyId, (recorded.get(keyId) ?? 0) + u.quantity);
      }
    }
    await clock.run(engine.tick());
  }
  const stats = await engine.stats();
  const deadLetters = await engine.options.store.deadLetters(Number.MAX_SAFE_INTEGER);
  await engine.shutdown();
  return { sink, recorded, stats, deadLetters, foreignIds };
}

function sumByKey(entries: Iterable<{ keyId: string; quantity: number }>): Map<string, number> {
  const totals = new Map<string, number>();
  for (const { keyId, quantity } of entries) totals.set(keyId, (totals.get(keyId) ?? 0) + quantity);
  return totals;
}

describe('exactly once, under any usage and any fault schedule', () => {
  it(`billed + dead-lettered == recorded for every key, and no key and hour is billed twice (${NUM_RUNS} runs)`, async () => {
    let cases = 0;
    await fc.assert(
      fc.asyncProperty(worldArb, async (world) => {
        cases += 1;
        const { sink, recorded, stats, deadLetters, foreignIds } = await simulate(world);

        // Everything settled once faults stopped and time moved on.
        expect(stats.openUnits).toBe(0);
        expect(stats.unwrittenDeltas).toBe(0);
        expect(stats.outboxReady + stats.outboxWaiting + stats.outboxLeased).toBe(0);

        // Every unit recorded ends billed (by us) or dead-lettered, never both, never lost.
        const ours = [...sink.ledger.values()]
          .filter((b) => !foreignIds.has(b.record.id))
          .map((b) => b.record);
        const billed = sumByKey(ours);
        const dead = sumByKey(deadLetters.map((l) => l.record));
        const keys = new Set([...recorded.keys(), ...billed.keys(), ...dead.keys()]);
        for (const key of keys) {
          expect((billed.get(key) ?? 0) + (dead.get(key) ?? 0)).toBe(recorded.get(key) ?? 0);
        }

        // Every call: each record's identity is fixed, one quantity per key and hour, and what AWS answered
        // Success for is exactly what its ledger holds.
        const sentQuantity = new Map<string, number>();
        for (const call of sink.calls) {
          expect(new Set(call.records.map((r) => r.key.productCode)).size).toBe(1);
          expect(call.records.length).toBeLessThanOrEqual(25);
          for (const r of call.records) {
            expect(r.quantity).toBeLessThanOrEqual(2_147_483_647);
            const slot = `${r.keyId}\n${r.hourStart}`;
            expect(sentQuantity.get(slot) ?? r.quantity).toBe(r.quantity);
            sentQuantity.set(slot, r.quantity);
          }
          if (call.response.status !== 'done') continue;
          for (const outcome of call.response.outcomes) {
            if (outcome.status !== 'success') continue;
            const r = call.records.find((x) => x.id === outcome.id) as UsageRecord;
            expect(sink.ledger.get(`${r.keyId}\n${r.hourStart}`)?.record.quantity).toBe(r.quantity);
          }
        }
      }),
      { numRuns: NUM_RUNS },
    );
    console.info(`exactly-once property: ${cases} cases passed`);
    expect(cases).toBe(NUM_RUNS);
  }, 300_000);
});
