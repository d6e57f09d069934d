import { type CustomerRef, HOUR_MILLIS, type UsageRecord } from '@meterkit/core';
import { keyIdOf } from '@meterkit/core/store';
import { InMemorySink } from '@meterkit/core/testing';
import { describe, expect, it } from 'vitest';
import {
  alice,
  BulkyRecordSink,
  billed,
  bob,
  carol,
  HangingSink,
  PRODUCT,
  setup,
  setupWithSink,
} from '../helpers.js';

const H10 = Date.UTC(2026, 10, 26, 10);
const SEAL_DELAY = 120_000;
/** From the start of the 10:00 hour to the moment it is sealed and sent. */
const TO_SEAL = HOUR_MILLIS + SEAL_DELAY;
const customer = (i: number, productCode = PRODUCT): CustomerRef => ({
  customerIdentifier: `c-${i}`,
  productCode,
});
const identity = (r: UsageRecord) => [r.id, r.keyId, r.hourStart, r.quantity];

/** Another sender billed alice's 10:00 api_calls hour first (99 units), so ours comes back `DuplicateRecord`. */
function billAliceTenOClockElsewhere(ctx: ReturnType<typeof setup>): void {
  const aliceKey = keyIdOf({
    productCode: PRODUCT,
    dimension: 'api_calls',
    customerIdentifier: 'cust-alice',
  });
  ctx.sink.ledger.set(`${aliceKey}\n${H10}`, {
    record: { id: 'foreign', keyId: aliceKey, key: alice as never, hourStart: H10, quantity: 99 },
    meteringRecordId: 'm-foreign',
  });
}

describe('dispatcher: batching', () => {
  it('sends the oldest hour first', async () => {
    const ctx = setup({ maxConcurrentExports: 1 });
    await ctx.engine.start();
    ctx.engine.record(alice, 'api_calls', 1, H10 - HOUR_MILLIS);
    ctx.engine.record(alice, 'api_calls', 2, H10 - 3 * HOUR_MILLIS);
    ctx.engine.record(alice, 'api_calls', 3, H10 - 2 * HOUR_MILLIS);
    await ctx.clock.advance(SEAL_DELAY);
    expect(ctx.sink.calls.flatMap((c) => c.records.map((r) => r.hourStart))).toEqual([
      H10 - 3 * HOUR_MILLIS,
      H10 - 2 * HOUR_MILLIS,
      H10 - HOUR_MILLIS,
    ]);
    await ctx.engine.shutdown();
  });

  it('puts one product in each call', async () => {
    const ctx = setup();
    await ctx.engine.start();
    for (let i = 0; i < 6; i++)
      ctx.engine.record(customer(i, i % 2 === 0 ? 'prod-even' : 'prod-odd'), 'api_calls');
    await ctx.clock.advance(TO_SEAL);
    expect(ctx.sink.calls).toHaveLength(2);
    for (const call of ctx.sink.calls)
      expect(new Set(call.records.map((r) => r.key.productCode)).size).toBe(1);
    await ctx.engine.shutdown();
  });

  it('sends at most 25 records per call', async () => {
    const ctx = setup();
    await ctx.engine.start();
    for (let i = 0; i < 60; i++) ctx.engine.record(customer(i), 'api_calls');
    await ctx.clock.advance(TO_SEAL);
    expect(ctx.sink.calls.map((c) => c.records.length).sort()).toEqual([10, 25, 25]);
    expect(ctx.sink.ledger.size).toBe(60);
    await ctx.engine.shutdown();
  });

  it('keeps every call under the sink byte limit', async () => {
    const ctx = setupWithSink((clock) => new BulkyRecordSink(300_000, { clock }));
    await ctx.engine.start();
    for (let i = 0; i < 10; i++) ctx.engine.record(customer(i), 'api_calls');
    await ctx.clock.advance(TO_SEAL);
    expect(ctx.sink.calls.map((c) => c.records.length)).toEqual([3, 3, 3, 1]);
    for (const call of ctx.sink.calls) expect(call.records.length * 300_000).toBeLessThan(1_000_000);
    expect(ctx.sink.ledger.size).toBe(10);
    await ctx.engine.shutdown();
  });
});

describe('dispatcher: the sink plans the calls', () => {
  it('sends each batch the sink plans as exactly one call', async () => {
    const ctx = setupWithSink((clock) =>
      Object.assign(new InMemorySink({ clock }), {
        // Pairs, whatever the service's own limits: the dispatcher groups nothing itself.
        planBatches: (records: readonly UsageRecord[]) =>
          Array.from({ length: Math.ceil(records.length / 2) }, (_, i) => records.slice(2 * i, 2 * i + 2)),
      }),
    );
    await ctx.engine.start();
    for (let i = 0; i < 5; i++) ctx.engine.record(customer(i), 'api_calls');
    await ctx.clock.advance(TO_SEAL);
    expect(ctx.sink.calls.map((c) => c.records.length)).toEqual([2, 2, 1]);
    expect(ctx.sink.ledger.size).toBe(5);
    await ctx.engine.shutdown();
  });

  it('still sends a record the sink left out of every batch, in a call of its own', async () => {
    const ctx = setupWithSink((clock) =>
      Object.assign(new InMemorySink({ clock }), {
        planBatches: (records: readonly UsageRecord[]) => [records.slice(1)],
      }),
    );
    await ctx.engine.start();
    for (let i = 0; i < 3; i++) ctx.engine.record(customer(i), 'api_calls');
    await ctx.clock.advance(TO_SEAL);
    expect(ctx.sink.calls.map((c) => c.records.length)).toEqual([2, 1]);
    expect(ctx.sink.ledger.size).toBe(3);
    await ctx.engine.shutdown();
  });
});

describe('dispatcher: rate limit', () => {
  it('never makes more than maxCallsPerSecond calls in any one-second window', async () => {
    const callTimes: number[] = [];
    const ctx = setupWithSink(
      (clock) =>
        new BulkyRecordSink(400_000, {
          clock,
          faults: () => {
            callTimes.push(clock.now());
            return undefined;
          },
        }),
      { maxCallsPerSecond: 5 },
    );
    await ctx.engine.start();
    for (let i = 0; i < 60; i++) ctx.engine.record(customer(i), 'api_calls');
    await ctx.clock.advance(TO_SEAL + 60_000);
    expect(callTimes).toHaveLength(30);
    for (const start of callTimes) {
      expect(callTimes.filter((t) => t >= start && t < start + 1_000).length).toBeLessThanOrEqual(5);
    }
    await ctx.engine.shutdown();
  });

  it('holds every call back for a full second after the service throttles', async () => {
    const callTimes: number[] = [];
    const ctx = setup(
      { maxCallsPerSecond: 5, maxConcurrentExports: 1 },
      {
        faults: (_, call) => {
          callTimes.push(ctx.clock.now());
          return call === 0 ? { kind: 'throttle' } : undefined;
        },
      },
    );
    await ctx.engine.start();
    for (let i = 0; i < 30; i++) ctx.engine.record(customer(i), 'api_calls');
    await ctx.clock.advance(TO_SEAL + 5_000);
    expect(callTimes.length).toBeGreaterThanOrEqual(2);
    expect((callTimes[1] as number) - (callTimes[0] as number)).toBeGreaterThanOrEqual(1_000);
    await ctx.engine.shutdown();
  });
});

describe('dispatcher: retries', () => {
  it.each([
    ['throttling', { kind: 'throttle' }],
    ['a 5xx', { kind: 'server-error' }],
    ['a network error', { kind: 'network' }],
  ] as const)('resends the identical record after %s', async (_, fault) => {
    const ctx = setup();
    ctx.sink.enqueue(fault, fault);
    await ctx.engine.start();
    ctx.engine.record(alice, 'api_calls', 3);
    ctx.engine.record(carol, 'api_calls', 4);
    await ctx.clock.advance(TO_SEAL + 60_000);
    const sent = ctx.sink.calls.map((c) => c.records.map(identity));
    expect(sent).toHaveLength(3);
    expect(sent[1]).toEqual(sent[0]);
    expect(sent[2]).toEqual(sent[0]);
    expect(billed(ctx.sink)).toEqual([
      ['cust-alice', H10, 3],
      ['cust-carol', H10, 4],
    ]);
    await ctx.engine.shutdown();
  });

  it('waits an exponential backoff with full jitter between attempts', async () => {
    const ctx = setup({ random: () => 0.75, retryBaseMillis: 1_000, retryMaxMillis: 3_000 });
    ctx.sink.enqueue(
      { kind: 'server-error' },
      { kind: 'server-error' },
      { kind: 'server-error' },
      { kind: 'server-error' },
    );
    const delays: number[] = [];
    ctx.engine.events.on('record.retrying', (e) => delays.push(e.notBefore - ctx.clock.now()));
    await ctx.engine.start();
    ctx.engine.record(alice, 'api_calls');
    await ctx.clock.advance(TO_SEAL + 120_000);
    // 0.75 of min(max, base·2^(attempt−1)): 1 s, 2 s, 4 s → capped at 3 s, ...
    expect(delays).toEqual([750, 1_500, 2_250, 2_250]);
    expect(ctx.sink.ledger.size).toBe(1);
    await ctx.engine.shutdown();
  });

  it('honours the service retry-after when it is longer than the backoff', async () => {
    const ctx = setup();
    const delays: number[] = [];
    ctx.engine.events.on('record.retrying', (e) => delays.push(e.notBefore - ctx.clock.now()));
    let first = true;
    ctx.sink.export = async (records) => {
      if (first) {
        first = false;
        return {
          status: 'retryable',
          reason: 'throttled',
          code: 'ThrottlingException',
          message: 'slow',
          retryAfterMillis: 45_000,
        };
      }
      return {
        status: 'done',
        outcomes: records.map((r) => ({ id: r.id, status: 'success', meteringRecordId: 'm' })),
      };
    };
    await ctx.engine.start();
    ctx.engine.record(alice, 'api_calls');
    await ctx.clock.advance(TO_SEAL);
    expect(delays).toEqual([45_000]);
  });

  it('resends only the records left unprocessed, unchanged', async () => {
    const ctx = setup();
    ctx.sink.enqueue({ kind: 'unprocessed', indexes: [1] });
    await ctx.engine.start();
    ctx.engine.record(alice, 'api_calls', 3);
    ctx.engine.record(carol, 'api_calls', 4);
    await ctx.clock.advance(TO_SEAL + 60_000);
    const [first, second] = ctx.sink.calls.map((c) => c.records.map(identity));
    expect(second).toEqual([first?.[1]]);
    expect(billed(ctx.sink)).toHaveLength(2);
    await ctx.engine.shutdown();
  });

  it('treats a record missing from the answer as unprocessed', async () => {
    const ctx = setup();
    let first = true;
    const inner = ctx.sink.export.bind(ctx.sink);
    ctx.sink.export = async (records) => {
      if (!first) return inner(records);
      first = false;
      return { status: 'done', outcomes: [] };
    };
    await ctx.engine.start();
    ctx.engine.record(alice, 'api_calls', 3);
    await ctx.clock.advance(TO_SEAL + 60_000);
    expect(billed(ctx.sink)).toEqual([['cust-alice', H10, 3]]);
    await ctx.engine.shutdown();
  });

  it('treats a sink that throws as a network error and retries', async () => {
    const ctx = setup();
    let first = true;
    const inner = ctx.sink.export.bind(ctx.sink);
    ctx.sink.export = async (records) => {
      if (!first) return inner(records);
      first = false;
      throw new Error('socket hang up');
    };
    const reasons: string[] = [];
    ctx.engine.events.on('record.retrying', (e) => reasons.push(e.reason));
    await ctx.engine.start();
    ctx.engine.record(alice, 'api_calls', 3);
    await ctx.clock.advance(TO_SEAL + 60_000);
    expect(reasons).toEqual(['network: Error']);
    expect(billed(ctx.sink)).toEqual([['cust-alice', H10, 3]]);
    await ctx.engine.shutdown();
  });

  it('aborts a call that outlives exportTimeoutMillis and resends it', async () => {
    const ctx = setupWithSink((clock) => new HangingSink(1, { clock }), { exportTimeoutMillis: 5_000 });
    const reasons: string[] = [];
    ctx.engine.events.on('record.retrying', (e) => reasons.push(e.reason));
    await ctx.engine.start();
    ctx.engine.record(alice, 'api_calls', 3);
    await ctx.clock.advance(TO_SEAL + 60_000);
    expect(ctx.sink.aborted).toEqual([true]);
    expect(reasons).toEqual(['timeout: Timeout']);
    expect(billed(ctx.sink)).toEqual([['cust-alice', H10, 3]]);
    await ctx.engine.shutdown();
  });

  it('retries a call the service failed for a reason no record can fix, later, and reports it', async () => {
    const ctx = setup({ failedRetryMillis: 30_000 });
    ctx.sink.enqueue({ kind: 'failed', code: 'InvalidProductCodeException' });
    const failures: string[] = [];
    ctx.engine.events.on('export.failed', (e) => failures.push(e.code));
    await ctx.engine.start();
    ctx.engine.record(alice, 'api_calls', 3);
    await ctx.clock.advance(TO_SEAL + 29_000);
    expect(ctx.sink.calls).toHaveLength(1);
    expect(failures).toEqual(['InvalidProductCodeException']);
    await ctx.clock.advance(20_000);
    expect(billed(ctx.sink)).toEqual([['cust-alice', H10, 3]]);
    await ctx.engine.shutdown();
  });
});

describe('dispatcher: rejections', () => {
  it('bisects a call the service refused, billing the good records and dead-lettering only the bad one', async () => {
    const poisoned = keyIdOf({ productCode: PRODUCT, dimension: 'api_calls', customerIdentifier: 'c-3' });
    const ctx = setup(
      {},
      { invalid: (r) => (r.keyId === poisoned ? 'InvalidCustomerIdentifierException' : undefined) },
    );
    const dead: [string, string, string][] = [];
    ctx.engine.events.on('record.dead-lettered', (e) => dead.push([e.record.keyId, e.reason, e.detail]));
    await ctx.engine.start();
    for (let i = 0; i < 7; i++) ctx.engine.record(customer(i), 'api_calls', i + 1);
    await ctx.clock.advance(TO_SEAL);
    expect(billed(ctx.sink).map((b) => b[0])).toEqual(['c-0', 'c-1', 'c-2', 'c-4', 'c-5', 'c-6']);
    expect(dead).toEqual([
      [poisoned, 'rejected', expect.stringContaining('InvalidCustomerIdentifierException')],
    ]);
    const letters = await ctx.engine.options.store.deadLetters(10);
    expect(letters.map((l) => [l.record.keyId, l.record.quantity, l.reason])).toEqual([
      [poisoned, 4, 'rejected'],
    ]);
    await ctx.engine.shutdown();
  });

  it('dead-letters a record of a customer who is not subscribed and reports it', async () => {
    const ctx = setup();
    ctx.sink.unsubscribed.add('cust-alice');
    const dead: string[] = [];
    ctx.engine.events.on('record.dead-lettered', (e) => dead.push(e.reason));
    await ctx.engine.start();
    ctx.engine.record(alice, 'api_calls', 2);
    ctx.engine.record(carol, 'api_calls', 5);
    await ctx.clock.advance(TO_SEAL + 60_000);
    expect(dead).toEqual(['customer-not-subscribed']);
    expect(billed(ctx.sink)).toEqual([['cust-carol', H10, 5]]);
    expect(ctx.sink.calls).toHaveLength(1);
    await ctx.engine.shutdown();
  });

  it('carries a record AWS already holds from another sender to the next open hour, and reports it', async () => {
    const ctx = setup();
    billAliceTenOClockElsewhere(ctx);
    const carried: number[] = [];
    ctx.engine.events.on('record.carried-forward', (e) => carried.push(e.record.quantity));
    await ctx.engine.start();
    ctx.engine.record(alice, 'api_calls', 3);
    await ctx.clock.advance(TO_SEAL);
    ctx.engine.record(alice, 'api_calls', 4);
    await ctx.clock.advance(HOUR_MILLIS);
    expect(carried).toEqual([3]);
    expect(billed(ctx.sink)).toEqual([
      ['cust-alice', H10, 99],
      ['cust-alice', H10 + HOUR_MILLIS, 7],
    ]);
    await ctx.engine.shutdown();
  });

  it('accepts DuplicateRecord for a record whose earlier answer was lost after AWS committed it, billing once', async () => {
    const ctx = setup({}, { identicalResendIsDuplicate: true });
    ctx.sink.enqueue({ kind: 'lost-after-commit' });
    const accepted: boolean[] = [];
    const carried: unknown[] = [];
    ctx.engine.events.on('record.accepted', (e) => accepted.push(e.resend));
    ctx.engine.events.on('record.carried-forward', (e) => carried.push(e));
    await ctx.engine.start();
    ctx.engine.record(alice, 'api_calls', 3);
    await ctx.clock.advance(TO_SEAL + 60_000);
    expect(ctx.sink.calls.map((c) => c.response.status)).toEqual(['retryable', 'done']);
    expect(accepted).toEqual([true]);
    expect(carried).toEqual([]);
    expect(billed(ctx.sink)).toEqual([['cust-alice', H10, 3]]);
    await ctx.clock.advance(2 * HOUR_MILLIS);
    expect(ctx.sink.ledger.size).toBe(1);
    await ctx.engine.shutdown();
  });

  it('carries a record refused as a duplicate when every earlier attempt was throttled (never committed)', async () => {
    const ctx = setup({}, { identicalResendIsDuplicate: true });
    billAliceTenOClockElsewhere(ctx);
    ctx.sink.enqueue({ kind: 'throttle' });
    await ctx.engine.start();
    ctx.engine.record(alice, 'api_calls', 3);
    await ctx.clock.advance(TO_SEAL + HOUR_MILLIS);
    expect(billed(ctx.sink)).toEqual([
      ['cust-alice', H10, 99],
      ['cust-alice', H10 + HOUR_MILLIS, 3],
    ]);
    await ctx.engine.shutdown();
  });

  it('carries DuplicateRecord after a lost answer when the service answers identical resends with Success', async () => {
    const ctx = setup({}, { identicalResendIsDuplicate: false });
    billAliceTenOClockElsewhere(ctx);
    ctx.sink.enqueue({ kind: 'network' });
    await ctx.engine.start();
    ctx.engine.record(alice, 'api_calls', 3);
    await ctx.clock.advance(TO_SEAL + HOUR_MILLIS);
    expect(billed(ctx.sink)).toEqual([
      ['cust-alice', H10, 99],
      ['cust-alice', H10 + HOUR_MILLIS, 3],
    ]);
    await ctx.engine.shutdown();
  });

  it('dead-letters a record older than the service window without sending it', async () => {
    const ctx = setup();
    const dead: [string, string][] = [];
    ctx.engine.events.on('record.dead-lettered', (e) => dead.push([e.reason, e.detail]));
    await ctx.engine.start();
    ctx.engine.record(alice, 'api_calls', 5, H10 - 24 * HOUR_MILLIS);
    await ctx.clock.advance(10_000);
    expect(ctx.sink.calls).toHaveLength(0);
    expect(dead).toEqual([['too-old', expect.stringContaining('service window')]]);
    await ctx.engine.shutdown();
  });

  it('dead-letters last month’s record after the month-end cut-off without sending it', async () => {
    const ctx = setup();
    const dead: [string, string][] = [];
    ctx.engine.events.on('record.dead-lettered', (e) => dead.push([e.reason, e.detail]));
    await ctx.clock.advanceTo(Date.UTC(2026, 11, 1, 6, 30));
    await ctx.engine.start();
    ctx.engine.record(alice, 'api_calls', 5, Date.UTC(2026, 10, 30, 23, 10));
    ctx.engine.record(bob, 'api_calls', 1, Date.UTC(2026, 11, 1, 5, 10));
    await ctx.clock.advance(10_000);
    expect(dead).toEqual([['too-old', expect.stringContaining('month-end')]]);
    expect(billed(ctx.sink)).toEqual([['111122223333', Date.UTC(2026, 11, 1, 5), 1]]);
    await ctx.engine.shutdown();
  });

  it('still sends last month’s record before the month-end cut-off', async () => {
    const ctx = setup();
    await ctx.clock.advanceTo(Date.UTC(2026, 11, 1, 5));
    await ctx.engine.start();
    ctx.engine.record(alice, 'api_calls', 5, Date.UTC(2026, 10, 30, 23, 10));
    await ctx.clock.advance(10_000);
    expect(billed(ctx.sink)).toEqual([['cust-alice', Date.UTC(2026, 10, 30, 23), 5]]);
    await ctx.engine.shutdown();
  });

  it('dead-letters a record the service refuses as too old on its own', async () => {
    const ctx = setup({ serviceWindowMillis: 48 * HOUR_MILLIS }, { windowMillis: 24 * HOUR_MILLIS });
    const dead: string[] = [];
    ctx.engine.events.on('record.dead-lettered', (e) => dead.push(e.reason));
    await ctx.engine.start();
    ctx.engine.record(alice, 'api_calls', 5, H10 - 30 * HOUR_MILLIS);
    await ctx.clock.advance(10_000);
    expect(dead).toEqual(['too-old']);
    await ctx.engine.shutdown();
  });

  it('warns once when a record is older than warnAgeMillis and still unsent', async () => {
    const ctx = setup({ warnAgeMillis: 2 * HOUR_MILLIS });
    ctx.sink.enqueue({ kind: 'server-error' });
    const aging: number[] = [];
    ctx.engine.events.on('record.aging', (e) => aging.push(e.ageMillis));
    await ctx.engine.start();
    ctx.engine.record(alice, 'api_calls', 5, H10 - 3 * HOUR_MILLIS);
    await ctx.clock.advance(60_000);
    expect(aging).toHaveLength(1);
    expect(aging[0]).toBeGreaterThanOrEqual(3 * HOUR_MILLIS);
    await ctx.engine.shutdown();
  });
});
