/** Runs random histories against a store and the memory store side by side and expects the same answers. */
import { type DeadLetterReason, HOUR_MILLIS, MemoryStore, type UsageStore } from '@meterkit/core';
import {
  keyIdOf,
  MAX_RECORD_QUANTITY,
  type OutboxEntry,
  type Settlement,
  tagSetIdOf,
} from '@meterkit/core/store';
import { sealAndReadBack } from '@meterkit/core/testing';
import fc from 'fast-check';
import { expect, it } from 'vitest';

const H0 = Date.UTC(2026, 10, 26, 10);
const LEASE = 60_000;
const KEYS = [
  keyIdOf({ productCode: 'prod-1', dimension: 'api_calls', customerIdentifier: 'cust-a' }),
  keyIdOf({ productCode: 'prod-1', dimension: 'api_calls', customerIdentifier: 'cust-b' }),
  keyIdOf({ productCode: 'prod-1', dimension: 'gb_stored', customerIdentifier: 'cust-a' }),
  keyIdOf({
    productCode: 'prod-2',
    dimension: 'api_calls',
    awsAccountId: '123456789012',
    licenseArn: 'arn:aws:license-manager::123456789012:license:l-0123456789abcdef',
  }),
];

/** Tag sets of deltas: untagged (most), and three tag sets, one with two keys. */
const TAGS = [
  '',
  tagSetIdOf({ project: 'alpha' }),
  tagSetIdOf({ project: 'beta', team: 'ops' }),
  tagSetIdOf({ env: 'prod' }),
];

type Op =
  | { op: 'add'; deltas: { key: number; hour: number; quantity: number; tag: number }[] }
  | { op: 'seal'; hour: number; limit: number }
  | { op: 'take'; elapse: number; limit: number }
  | { op: 'settle'; picks: { claim: number; kind: Settlement['kind']; delay: number }[] }
  | { op: 'requeue' }
  | { op: 'read' };

const quantity = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 0, max: 5 }) },
  { weight: 1, arbitrary: fc.integer({ min: MAX_RECORD_QUANTITY - 3, max: MAX_RECORD_QUANTITY + 3 }) },
);
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant('add' as const),
      deltas: fc.array(
        fc.record({
          key: fc.nat(KEYS.length - 1),
          hour: fc.integer({ min: 0, max: 3 }),
          quantity,
          tag: fc.oneof(
            { weight: 3, arbitrary: fc.constant(0) },
            { weight: 2, arbitrary: fc.nat(TAGS.length - 1) },
          ),
        }),
        { minLength: 1, maxLength: 5 },
      ),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('seal' as const),
      hour: fc.integer({ min: 0, max: 5 }),
      limit: fc.integer({ min: 1, max: 4 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('take' as const),
      elapse: fc.constantFrom(0, 1_000, LEASE, 2 * LEASE),
      limit: fc.integer({ min: 1, max: 4 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('settle' as const),
      picks: fc.array(
        fc.record({
          claim: fc.nat(30),
          kind: fc.constantFrom('accepted', 'retry', 'dead', 'carry'),
          delay: fc.constantFrom(0, 5_000, 3 * LEASE),
        }),
        { minLength: 1, maxLength: 3 },
      ),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ op: 'requeue' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'read' as const }) },
);

function settlementFor(
  pick: { kind: Settlement['kind']; delay: number },
  entry: OutboxEntry,
  now: number,
): Settlement {
  const { id } = entry.record;
  switch (pick.kind) {
    case 'accepted':
      return {
        kind: 'accepted',
        id,
        claim: entry.claim,
        meteringRecordId: pick.delay ? `m-${id}` : undefined,
        at: now,
      };
    case 'retry':
      return { kind: 'retry', id, claim: entry.claim, notBefore: now + pick.delay, reason: 'throttled' };
    case 'dead': {
      const reason: DeadLetterReason = pick.delay ? 'customer-not-subscribed' : 'rejected';
      return { kind: 'dead', id, claim: entry.claim, reason, detail: `detail ${id}`, at: now };
    }
    case 'carry':
      return { kind: 'carry', id, claim: entry.claim, at: now };
  }
}

/** Applies one random history to the memory store and `candidate` side by side, comparing every answer. */
async function compare(ops: readonly Op[], candidate: UsageStore): Promise<void> {
  const memory = new MemoryStore();
  const claims: [OutboxEntry, OutboxEntry][] = [];
  const sealedSlots = new Set<string>();
  let now = H0;
  const both = async <T>(
    step: string,
    call: (store: UsageStore, side: 0 | 1) => Promise<T>,
  ): Promise<[T, T]> => {
    const expected = await call(memory, 0);
    const actual = await call(candidate, 1);
    expect(actual, `${step} differs from the memory store`).toEqual(expected);
    return [expected, actual];
  };
  for (const [index, step] of ops.entries()) {
    const label = `step ${index} ${JSON.stringify(step)}`;
    switch (step.op) {
      case 'add': {
        const deltas = step.deltas.map((d) => ({
          keyId: KEYS[d.key] as string,
          hourStart: H0 + d.hour * HOUR_MILLIS,
          quantity: d.quantity,
          ...(d.tag === 0 ? {} : { tags: TAGS[d.tag] }),
        }));
        await both(label, (store) => store.addDeltas(deltas));
        break;
      }
      case 'seal': {
        const [{ records }] = await both(label, (store) =>
          sealAndReadBack(store, H0 + step.hour * HOUR_MILLIS, step.limit),
        );
        // Agreeing is not enough: the memory store itself must never seal a key and hour twice.
        for (const record of records) {
          const slot = `${record.keyId} ${record.hourStart}`;
          expect(sealedSlots.has(slot), `${label} sealed ${slot} a second time`).toBe(false);
          sealedSlots.add(slot);
        }
        break;
      }
      case 'take': {
        now += step.elapse;
        const [fromMemory, fromCandidate] = await Promise.all([
          memory.takeDue(now, step.limit, LEASE),
          candidate.takeDue(now, step.limit, LEASE),
        ]);
        const strip = (entries: OutboxEntry[]) =>
          entries.map((e) => ({ record: e.record, attempts: e.attempts }));
        expect(strip(fromCandidate), `${label} differs from the memory store`).toEqual(strip(fromMemory));
        // Equal lists (checked just above): the candidate's entry i is the twin of the memory store's entry i.
        fromMemory.forEach((entry, i) => {
          const twin = fromCandidate[i];
          if (twin === undefined) throw new Error(`${label}: the candidate took fewer entries`);
          claims.push([entry, twin]);
        });
        break;
      }
      case 'settle': {
        // Picks of claims not taken yet are dropped, and a record is settled once per call.
        const ids = new Set<string>();
        const chosen: { pick: (typeof step.picks)[number]; claim: [OutboxEntry, OutboxEntry] }[] = [];
        for (const pick of step.picks) {
          const claim = claims[pick.claim];
          if (claim === undefined || ids.has(claim[0].record.id)) continue;
          ids.add(claim[0].record.id);
          chosen.push({ pick, claim });
        }
        if (chosen.length === 0) break;
        await both(label, (store, side) =>
          store.settle(chosen.map(({ pick, claim }) => settlementFor(pick, claim[side], now))),
        );
        break;
      }
      case 'requeue': {
        const letters = await memory.deadLetters(100);
        await both(label, (store) =>
          store.requeueDeadLetters(
            letters.map((l) => l.record.id),
            now,
          ),
        );
        break;
      }
      case 'read':
        await both(`${label} pending`, (store) => store.pending(100));
        await both(`${label} deadLetters`, (store) => store.deadLetters(100));
        await both(`${label} auditLog`, (store) => store.auditLog(100));
        break;
    }
    await both(`${label} stats`, (store) => store.stats());
  }
  await both('final pending', (store) => store.pending(1000));
  await both('final dead letters', (store) => store.deadLetters(1000));
  await both('final audit log', (store) => store.auditLog(1000));
}

/**
 * A property test: random histories of checkpoints, seals, claims, settlements (stale ones included), requeues and
 * reads give exactly the answers the memory store gives. `open` must return a fresh, empty store each time.
 */
export function itBehavesLikeTheMemoryStore(open: () => Promise<UsageStore> | UsageStore, runs = 60): void {
  it('answers every call exactly as the memory store does, over random histories', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 40 }), async (ops) => {
        const store = await open();
        try {
          await compare(ops, store);
        } finally {
          await store.close();
        }
      }),
      { numRuns: runs },
    );
  }, 120_000);
}
