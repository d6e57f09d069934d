import { HOUR_MILLIS } from '@meterkit/core';
import { describe, expect, it } from 'vitest';
import { alice, bob, setup } from '../helpers.js';

const SEAL_DELAY = 120_000;

describe('MeteringEngine', () => {
  it('bills one record per key for a closed hour, stamped with the hour start', async () => {
    const { clock, sink, engine } = setup();
    await engine.start();
    engine.record(alice, 'api_calls');
    engine.record(alice, 'api_calls', 4);
    engine.record(bob, 'api_calls', 2);
    await clock.advance(HOUR_MILLIS + SEAL_DELAY);
    const billed = [...sink.ledger.values()].map((b) => [
      b.record.key.customerIdentifier ?? b.record.key.awsAccountId,
      b.record.hourStart,
      b.record.quantity,
    ]);
    expect(billed).toEqual(
      expect.arrayContaining([
        ['cust-alice', Date.UTC(2026, 10, 26, 10), 5],
        ['111122223333', Date.UTC(2026, 10, 26, 10), 2],
      ]),
    );
    expect(billed).toHaveLength(2);
    await engine.shutdown();
  });

  it('does not send an hour before it has closed and the seal delay has passed', async () => {
    const { clock, sink, engine } = setup();
    await engine.start();
    engine.record(alice, 'api_calls');
    await clock.advance(HOUR_MILLIS + SEAL_DELAY - 1_000);
    expect(sink.calls).toHaveLength(0);
    await engine.shutdown();
  });

  it('puts usage recorded after the boundary into the next hour', async () => {
    const { clock, sink, engine } = setup();
    await engine.start();
    engine.record(alice, 'api_calls', 1);
    await clock.advance(HOUR_MILLIS);
    engine.record(alice, 'api_calls', 10);
    await clock.advance(2 * HOUR_MILLIS + SEAL_DELAY);
    const byHour = [...sink.ledger.values()].map((b) => [b.record.hourStart, b.record.quantity]).sort();
    expect(byHour).toEqual([
      [Date.UTC(2026, 10, 26, 10), 1],
      [Date.UTC(2026, 10, 26, 11), 10],
    ]);
    await engine.shutdown();
  });

  it('resends the identical record after throttling', async () => {
    const { clock, sink, engine } = setup();
    sink.enqueue({ kind: 'throttle' }, { kind: 'throttle' });
    await engine.start();
    engine.record(alice, 'api_calls', 3);
    await clock.advance(HOUR_MILLIS + SEAL_DELAY + 60_000);
    const sent = sink.calls.map((c) => c.records.map((r) => [r.id, r.quantity, r.hourStart]));
    expect(sent).toHaveLength(3);
    expect(new Set(sent.map((s) => JSON.stringify(s))).size).toBe(1);
    expect([...sink.ledger.values()].map((b) => b.record.quantity)).toEqual([3]);
    await engine.shutdown();
  });

  it('emits usage.rejected and counts nothing for a negative quantity', async () => {
    const { engine } = setup();
    const reasons: string[] = [];
    engine.events.on('usage.rejected', (e) => reasons.push(e.reason));
    expect(engine.record(alice, 'api_calls', -1)).toBe(false);
    expect(engine.record(alice, 'api_calls', 1.5)).toBe(false);
    expect(engine.record(alice, 'api_calls', Number.NaN)).toBe(false);
    expect(reasons).toEqual(['invalid-quantity', 'invalid-quantity', 'invalid-quantity']);
    expect((await engine.stats()).liveKeys).toBe(0);
  });

  it('seals and sends the open hour at shutdown with the memory store', async () => {
    const { sink, engine } = setup();
    await engine.start();
    engine.record(alice, 'api_calls', 7);
    const report = await engine.shutdown();
    expect(report.accepted).toBe(1);
    expect([...sink.ledger.values()].map((b) => [b.record.hourStart, b.record.quantity])).toEqual([
      [Date.UTC(2026, 10, 26, 10), 7],
    ]);
  });
});
