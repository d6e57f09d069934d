import { MeteringConfigurationError } from '@meterkit/core';
import { createAdminApi, MeteringHealth } from '@meterkit/core/ops';
import { configurationErrorOf } from '@meterkit/core/testing';
import { describe, expect, it } from 'vitest';
import { alice, setup } from '../helpers.js';

const TO_SEAL = 3_600_000 + 120_000 + 1_000;

describe('MeteringHealth', () => {
  it('refuses a negative bound at construction, naming the field', () => {
    const { engine } = setup();
    const error = configurationErrorOf(() => new MeteringHealth(engine, { maxDeadLetters: -1 }));
    expect(error).toBeInstanceOf(MeteringConfigurationError);
    expect(error.field).toBe('maxDeadLetters');
  });

  it('counts the sink as failing from the first failed call, not from a throttled one', async () => {
    // Prepare
    const { engine, clock, sink } = setup();
    const health = new MeteringHealth(engine, { maxSinkFailureMillis: 60_000 });
    sink.enqueue({ kind: 'throttle' });
    await engine.start();
    engine.record(alice, 'api_calls', 1);
    // Act: one throttled call
    await clock.advance(TO_SEAL);
    // Assess
    const throttled = (await health.check()).checks.sink;
    expect(throttled).toMatchObject({
      healthy: true,
      failingSince: undefined,
      lastCall: { outcome: 'throttled' },
    });
    // Act: every later call fails for longer than the bound
    sink.enqueue(...Array.from({ length: 100 }, () => ({ kind: 'server-error' }) as const));
    await clock.advance(5 * 60_000);
    // Assess
    const report = await health.check();
    expect(report.healthy).toBe(false);
    expect(report.checks.sink.healthy).toBe(false);
    expect(report.checks.sink.failingForMillis).toBeGreaterThan(60_000);
    await engine.shutdown({ timeoutMillis: 0 });
  });
});

describe('createAdminApi', () => {
  it('refuses a token shorter than 24 characters at start-up', () => {
    const { engine } = setup();
    expect(configurationErrorOf(() => createAdminApi(engine, { token: 'short' })).field).toBe('token');
  });
});
