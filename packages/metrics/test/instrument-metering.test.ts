import { HOUR_MILLIS, type MeteringEngine } from '@meterkit/core';
import { instrumentMetering, metrics } from '@meterkit/metrics';
import { describe, expect, it } from 'vitest';
import { alice, bob, meterProvider, read, setup, TO_SEAL } from './metrics-helpers.js';

async function withInstruments(engine: MeteringEngine) {
  const { provider, reader } = meterProvider();
  const instrumentation = instrumentMetering(engine, { meterProvider: provider });
  return { reader, instrumentation, provider };
}

describe('instrumentMetering', () => {
  it('counts units counted into the store and units refused, by reason', async () => {
    // Prepare
    const { engine } = setup();
    const { reader } = await withInstruments(engine);
    await engine.start();
    // Act
    engine.record(alice, 'api_calls', 3);
    engine.record(bob, 'api_calls', 4);
    engine.record(alice, 'api_calls', -1);
    engine.record({ customerIdentifier: '' }, 'api_calls', 2);
    await engine.checkpoint();
    // Assess
    expect(await read(reader, 'meterkit.usage.units')).toEqual({
      counted: 7,
      'refused/invalid-quantity': 0,
      'refused/invalid-customer': 2,
    });
    expect(await read(reader, 'meterkit.usage.refusals')).toEqual({
      'invalid-quantity': 1,
      'invalid-customer': 1,
    });
    await engine.shutdown();
  });

  it('counts records sealed, accepted and dead-lettered by reason, and calls by outcome', async () => {
    const { engine, clock, sink } = setup();
    const { reader } = await withInstruments(engine);
    sink.unsubscribed.add(bob.customerIdentifier);
    sink.enqueue({ kind: 'throttle' });
    await engine.start();
    engine.record(alice, 'api_calls', 3);
    engine.record(bob, 'api_calls', 4);
    await clock.advance(TO_SEAL + 10_000);
    expect(await read(reader, 'meterkit.records')).toEqual({
      sealed: 2,
      'retried/throttled': 2,
      accepted: 1,
      'dead/customer-not-subscribed': 1,
    });
    expect(await read(reader, 'meterkit.records.units')).toEqual({
      accepted: 3,
      'dead/customer-not-subscribed': 4,
    });
    expect(await read(reader, 'meterkit.sink.calls')).toEqual({ throttled: 1, answered: 1 });
    expect(await read(reader, 'meterkit.dead_letters')).toEqual({ '': 1 });
    await engine.shutdown();
  });

  it('reports the age of the oldest pending record and the time left in the service window', async () => {
    const { engine, clock, sink } = setup();
    const { reader } = await withInstruments(engine);
    // Every call fails: the 10:00 record stays pending.
    sink.enqueue(...Array.from({ length: 1000 }, () => ({ kind: 'server-error' }) as const));
    await engine.start();
    engine.record(alice, 'api_calls', 3);
    await clock.advance(3 * HOUR_MILLIS);
    expect(await read(reader, 'meterkit.pending.oldest.age')).toEqual({ '': 3 * 3600 });
    expect(await read(reader, 'meterkit.pending.oldest.window_left')).toEqual({ '': 21 * 3600 });
    const pending = await read(reader, 'meterkit.pending.records');
    // One point per state; whichever state the record is in at this instant, the three add up to it.
    expect(Object.keys(pending).sort()).toEqual(['leased', 'ready', 'waiting']);
    expect(Object.values(pending).reduce((sum, count) => sum + count, 0)).toBe(1);
    const failing = await read(reader, 'meterkit.sink.failure.duration');
    // Failing since the first call, just after 11:02; read at 13:00.
    expect(failing['']).toBeGreaterThan(HOUR_MILLIS / 1000);
    await engine.shutdown({ timeoutMillis: 0 });
  });

  it('reports live keys and open usage, and no pending age when nothing is pending', async () => {
    const { engine } = setup();
    const { reader } = await withInstruments(engine);
    await engine.start();
    engine.record(alice, 'api_calls', 5);
    engine.record(bob, 'reports', 1);
    expect(await read(reader, 'meterkit.tally.live_keys')).toEqual({ '': 2 });
    await engine.checkpoint();
    expect(await read(reader, 'meterkit.open.units')).toEqual({ '': 6 });
    expect(await read(reader, 'meterkit.open.keys')).toEqual({ '': 2 });
    expect(await read(reader, 'meterkit.pending.oldest.age')).toEqual({ '': 0 });
    expect(await read(reader, 'meterkit.pending.oldest.window_left')).toEqual({});
    await engine.shutdown();
  });

  it('counts background failures of the store by operation', async () => {
    const { engine, clock } = setup();
    const { reader } = await withInstruments(engine);
    await engine.start();
    const store = engine.options.store;
    const addDeltas = store.addDeltas.bind(store);
    store.addDeltas = () => Promise.reject(new Error('disk full'));
    engine.record(alice, 'api_calls', 1);
    await clock.advance(1_000);
    expect((await read(reader, 'meterkit.store.errors')).checkpoint).toBeGreaterThanOrEqual(1);
    store.addDeltas = addDeltas;
    await engine.shutdown();
  });

  it('reports each metric under the name, unit and description of the catalog', async () => {
    const { engine } = setup();
    const { reader } = await withInstruments(engine);
    engine.record(alice, 'api_calls', 1);
    engine.record(alice, 'api_calls', Number.NaN);
    await engine.start();
    await engine.checkpoint();
    const { resourceMetrics } = await reader.collect();
    const reported = resourceMetrics.scopeMetrics.flatMap((s) =>
      s.metrics.map((m) => [m.descriptor.name, m.descriptor.unit, m.descriptor.description]),
    );
    const catalog = Object.values(metrics).map((m) => [m.name, m.unit, m.description]);
    expect(reported.length).toBeGreaterThanOrEqual(9);
    for (const entry of reported) expect(catalog).toContainEqual(entry);
    await engine.shutdown();
  });

  it('stops reporting after close()', async () => {
    const { engine } = setup();
    const { reader, instrumentation } = await withInstruments(engine);
    await engine.start();
    instrumentation.close();
    engine.record(alice, 'api_calls', 1);
    await engine.checkpoint();
    expect(await read(reader, 'meterkit.usage.units')).toEqual({});
    await engine.shutdown();
  });

  it('is a no-op without an OpenTelemetry SDK: recording and flushing work unchanged', async () => {
    const { engine, clock, sink } = setup();
    instrumentMetering(engine);
    await engine.start();
    expect(engine.record(alice, 'api_calls', 2)).toBe(true);
    await clock.advance(TO_SEAL);
    expect([...sink.billedByKey().values()]).toEqual([2]);
    await engine.shutdown();
  });
});
