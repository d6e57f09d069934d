import { HOUR_MILLIS, silentLogger } from '@meterkit/core';
import { ManualClock } from '@meterkit/core/testing';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { readConfig } from '../src/config.js';
import { type RunningContainer, startContainer } from '../src/server.js';

const quiet = () => undefined;
/** 2026-11-26T10:00:00Z */
const START = Date.UTC(2026, 10, 26, 10);

describe('readConfig', () => {
  it('uses the in-process emulator when no AWS endpoint or credentials are set', () => {
    expect(readConfig({})).toMatchObject({
      useEmulator: true,
      port: 8080,
      dimension: 'jobs',
      failOpen: false,
    });
  });

  it('talks to AWS when the ECS task role credentials are set', () => {
    expect(readConfig({ AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: '/v2/credentials/x' }).useEmulator).toBe(
      false,
    );
  });

  it('refuses a public key version of 0', () => {
    expect(() => readConfig({ METERKIT_PUBLIC_KEY_VERSION: '0' })).toThrow(/METERKIT_PUBLIC_KEY_VERSION/);
  });
});

describe('the container example against its in-process emulator', () => {
  let running: RunningContainer | undefined;
  afterEach(async () => {
    await running?.stop();
    running = undefined;
  });

  it('registers, then meters each job; the hour is sent with MeterUsage on shutdown', async () => {
    running = await startContainer(readConfig({ PORT: '0' }), quiet, { logger: silentLogger });
    expect(running.registration).toMatchObject({ status: 'registered', verified: true });
    const api = request(running.url);
    await api.get('/health').expect(200);
    for (let i = 0; i < 3; i++) await api.post('/v1/jobs').expect(201);
    await running.metering.shutdown({ server: running.server });
    const billed = running.emulator!.ledger.records();
    expect(billed.map((r) => [r.operation, r.dimension, r.quantity])).toEqual([['MeterUsage', 'jobs', 3]]);
  });

  it('refuses to start when the emulator says the buyer is not entitled', async () => {
    const starting = startContainer(readConfig({ PORT: '0' }), quiet, {
      logger: silentLogger,
      emulator: {
        products: [{ productCode: 'prod-meterkit-container', dimensions: ['jobs'], entitled: false }],
      },
    });
    await expect(starting).rejects.toMatchObject({
      name: 'ContainerRegistrationError',
      reason: 'not-entitled',
    });
  });

  it('sends one MeterUsage record per hour, each once, through lost answers, 5xx and throttling', async () => {
    const clock = new ManualClock(START);
    running = await startContainer(readConfig({ PORT: '0' }), quiet, {
      clock,
      logger: silentLogger,
      emulator: { faults: { quota: false } },
    });
    const { emulator, metering } = running;
    emulator!.control.scheduleFaults(
      { fault: 'drop-response', operation: 'MeterUsage', count: 2 },
      { fault: 'internal-error', operation: 'MeterUsage', count: 2 },
      { fault: 'throttle', operation: 'MeterUsage', count: 2 },
    );
    const api = request(running.url);
    for (let hour = 0; hour < 3; hour++) {
      for (let job = 0; job <= hour; job++) await api.post('/v1/jobs').expect(201);
      // Simulated time runs while real HTTP goes to the emulator: 20 simulated ms per real one.
      const until = START + (hour + 1) * HOUR_MILLIS + 10 * 60_000;
      while (clock.now() < until) {
        await clock.advance(20_000);
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      for (let round = 0; (await metering.engine.forceFlush()).pending > 0 && round < 200; round++) {
        await clock.advance(60_000);
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    }
    const billed = emulator!.ledger.records();
    expect(billed.map((r) => [r.hourStartMillis - START, r.quantity])).toEqual([
      [0, 1],
      [HOUR_MILLIS, 2],
      [2 * HOUR_MILLIS, 3],
    ]);
    expect(billed.every((r) => r.conflictingResends === 0 && r.timestampMillis === r.hourStartMillis)).toBe(
      true,
    );
    const faulted = emulator!.ledger
      .calls()
      .filter((c) => c.operation === 'MeterUsage' && c.fault !== undefined);
    expect(faulted.length).toBe(6);
  });
});
