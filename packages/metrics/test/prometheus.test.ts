import { registerMeteringMetrics } from '@meterkit/metrics/prometheus';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { alice, bob, setup, TO_SEAL } from './metrics-helpers.js';

describe('registerMeteringMetrics (prom-client)', () => {
  it('exposes counters with _total and labels without the meterkit. prefix', async () => {
    // Prepare
    const { engine, clock, sink } = setup();
    const registry = new Registry();
    registerMeteringMetrics(engine, { registry });
    sink.unsubscribed.add(bob.customerIdentifier);
    await engine.start();
    // Act
    engine.record(alice, 'api_calls', 3);
    engine.record(bob, 'api_calls', 4);
    engine.record(alice, 'api_calls', -2);
    await clock.advance(TO_SEAL);
    const text = await registry.metrics();
    // Assess
    expect(text).toContain('meterkit_usage_units_total{usage_outcome="counted"} 7');
    expect(text).toContain('meterkit_usage_refusals_total{reason="invalid-quantity"} 1');
    expect(text).toContain('meterkit_records_total{record_outcome="accepted"} 1');
    expect(text).toContain(
      'meterkit_records_total{record_outcome="dead",reason="customer-not-subscribed"} 1',
    );
    expect(text).toContain('meterkit_sink_calls_total{call_outcome="answered"} 1');
    expect(text).toContain('meterkit_dead_letters 1');
    expect(text).toContain('meterkit_pending_oldest_window_left_seconds +Inf');
    await engine.shutdown();
  });

  it('reads the same totals on every scrape (counters never reset between scrapes)', async () => {
    const { engine } = setup();
    const registry = new Registry();
    registerMeteringMetrics(engine, { registry });
    await engine.start();
    engine.record(alice, 'api_calls', 3);
    await engine.checkpoint();
    const first = await registry.metrics();
    const second = await registry.metrics();
    expect(first).toContain('meterkit_usage_units_total{usage_outcome="counted"} 3');
    expect(second).toContain('meterkit_usage_units_total{usage_outcome="counted"} 3');
    await engine.shutdown();
  });

  it('unregisters its metrics on close()', async () => {
    const { engine } = setup();
    const registry = new Registry();
    const metrics = registerMeteringMetrics(engine, { registry });
    metrics.close();
    expect(await registry.metrics()).not.toContain('meterkit_');
    await engine.shutdown();
  });
});
