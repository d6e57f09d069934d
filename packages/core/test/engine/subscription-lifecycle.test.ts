import { HOUR_MILLIS, type MeteringEvents } from '@meterkit/core';
import { describe, expect, it } from 'vitest';
import { alice, billed, bob, setup } from '../helpers.js';

const SEAL_DELAY = 120_000;
const TEN = Date.UTC(2026, 10, 26, 10);

function collect<K extends keyof MeteringEvents>(
  engine: ReturnType<typeof setup>['engine'],
  event: K,
): MeteringEvents[K][] {
  const seen: MeteringEvents[K][] = [];
  engine.events.on(event, (payload) => seen.push(payload));
  return seen;
}

describe('subscription lifecycle in the engine', () => {
  it('counts usage of a customer it never heard of, as before', async () => {
    const { clock, sink, engine } = setup();
    await engine.start();
    engine.record(alice, 'api_calls', 2);
    await clock.advance(HOUR_MILLIS + SEAL_DELAY);
    expect(billed(sink)).toEqual([['cust-alice', TEN, 2]]);
    await engine.shutdown();
  });

  it('holds usage before subscribe-success and bills it when the subscription is confirmed in the same hour', async () => {
    const { clock, sink, engine } = setup();
    const held = collect(engine, 'usage.held');
    await engine.start();
    await engine.applySubscriptionChange(alice, 'registered');
    engine.record(alice, 'api_calls', 3);
    engine.record(alice, 'api_calls', 4);
    await clock.advance(10 * 60_000);
    await engine.applySubscriptionChange(alice, 'subscribed');
    engine.record(alice, 'api_calls', 1);
    await clock.advance(HOUR_MILLIS + SEAL_DELAY);
    expect(held).toHaveLength(1);
    expect(billed(sink)).toEqual([['cust-alice', TEN, 8]]);
    await engine.shutdown();
  });

  it('does not bill usage held through an hour that ended before subscribe-success, and says so', async () => {
    const { clock, sink, engine } = setup();
    const notBilled = collect(engine, 'usage.not-billed');
    await engine.start();
    await engine.applySubscriptionChange(alice, 'registered');
    engine.record(alice, 'api_calls', 5);
    await clock.advance(HOUR_MILLIS);
    await engine.applySubscriptionChange(alice, 'subscribed');
    engine.record(alice, 'api_calls', 2);
    await clock.advance(HOUR_MILLIS + SEAL_DELAY);
    expect(notBilled).toEqual([
      { customer: '…lice', dimension: 'api_calls', hourStart: TEN, units: 5, reason: 'not-subscribed' },
    ]);
    expect(billed(sink)).toEqual([['cust-alice', TEN + HOUR_MILLIS, 2]]);
    await engine.shutdown();
  });

  it('drops held usage with reason subscribe-failed and refuses later usage', async () => {
    const { engine } = setup();
    const notBilled = collect(engine, 'usage.not-billed');
    const rejected = collect(engine, 'usage.rejected');
    await engine.start();
    await engine.applySubscriptionChange(bob, 'registered');
    engine.record(bob, 'api_calls', 3);
    await engine.applySubscriptionChange(bob, 'subscribe-failed');
    expect(engine.record(bob, 'api_calls')).toBe(false);
    expect(notBilled.map((e) => [e.units, e.reason])).toEqual([[3, 'subscribe-failed']]);
    expect(rejected.map((e) => e.reason)).toEqual(['not-subscribed']);
    await engine.shutdown();
  });

  it('seals and sends the open hour at once on unsubscribe-pending', async () => {
    const { clock, sink, engine } = setup();
    await engine.start();
    await engine.applySubscriptionChange(alice, 'subscribed');
    engine.record(alice, 'api_calls', 7);
    engine.record(bob, 'api_calls', 1);
    await clock.advance(5 * 60_000);
    await engine.applySubscriptionChange(alice, 'unsubscribe-pending');
    expect(billed(sink)).toEqual([
      ['111122223333', TEN, 1],
      ['cust-alice', TEN, 7],
    ]);
    await engine.shutdown();
  });

  it('bills usage that arrives after the early seal with the next hour, never as a second record for the sealed hour', async () => {
    const { clock, sink, engine } = setup();
    const late = collect(engine, 'usage.late');
    await engine.start();
    await engine.applySubscriptionChange(alice, 'subscribed');
    engine.record(alice, 'api_calls', 7);
    await clock.advance(5 * 60_000);
    await engine.applySubscriptionChange(alice, 'unsubscribe-pending');
    engine.record(alice, 'api_calls', 2);
    await clock.advance(2 * HOUR_MILLIS + SEAL_DELAY);
    expect(billed(sink)).toEqual([
      ['cust-alice', TEN, 7],
      ['cust-alice', TEN + HOUR_MILLIS, 2],
    ]);
    expect(late.map((e) => e.units)).toEqual([2]);
    const outcomes = sink.calls.flatMap((c) => (c.response.status === 'done' ? c.response.outcomes : []));
    expect(outcomes.map((o) => o.status)).toEqual(['success', 'success']);
    await engine.shutdown();
  });

  it('seals once when unsubscribe-pending is delivered twice', async () => {
    const { clock, sink, engine } = setup();
    const sealed = collect(engine, 'records.sealed');
    await engine.start();
    await engine.applySubscriptionChange(alice, 'subscribed');
    engine.record(alice, 'api_calls', 7);
    await engine.applySubscriptionChange(alice, 'unsubscribe-pending');
    await engine.applySubscriptionChange(alice, 'unsubscribe-pending');
    await clock.advance(1_000);
    expect(sealed).toHaveLength(1);
    expect(sink.calls).toHaveLength(1);
    await engine.shutdown();
  });

  it('refuses usage after unsubscribe-success with reason unsubscribed', async () => {
    const { engine } = setup();
    const rejected = collect(engine, 'usage.rejected');
    await engine.start();
    await engine.applySubscriptionChange(alice, 'unsubscribed');
    expect(engine.record(alice, 'api_calls')).toBe(false);
    expect(engine.record(bob, 'api_calls')).toBe(true);
    expect(rejected.map((e) => e.reason)).toEqual(['unsubscribed']);
    expect(engine.subscriptionStateOf(alice)).toBe('unsubscribed');
    expect(engine.subscriptionStateOf(bob)).toBeUndefined();
    await engine.shutdown();
  });

  it('restores states from a registry without sealing anything', async () => {
    const { sink, engine } = setup();
    await engine.start();
    engine.record(bob, 'api_calls', 1);
    engine.restoreSubscriptionStates([{ customer: bob, state: 'unsubscribe-pending' }]);
    expect(engine.subscriptionStateOf(bob)).toBe('unsubscribe-pending');
    expect(sink.calls).toHaveLength(0);
    await engine.shutdown();
  });
});
