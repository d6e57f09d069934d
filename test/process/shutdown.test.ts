import { HOUR_MILLIS, UNSENT_USAGE_EXIT_CODE } from '@meterkit/core';
import type { FaultSettings } from '@meterkit/emulator';
import { ensureBuilt } from '@meterkit/test-support/build';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { type AdapterName, type AppProcess, ProcessWorld, unreachableEndpoint } from './harness.js';

// Real processes: each app script runs the built packages, is sent SIGTERM at the worst moment, and its exit code,
// events and log lines are read. Simulated hours come from the world's clock (the emulator and every app start on it),
// so nothing waits on wall-clock hours.
beforeAll(() => ensureBuilt('core', 'aws-marketplace', 'express', 'nestjs', 'sqlite', 'emulator'), 240_000);
// A few seconds each when the machine is free; generous bounds for CI's two cores shared with the other suites.
vi.setConfig({ testTimeout: 90_000 });

const H10 = Date.UTC(2026, 11, 4, 10);
const MINUTE = 60_000;
type Fault = 'throttled' | 'unreachable' | 'a 500';

let world: ProcessWorld;
afterEach(async () => {
  await world?.close();
});

/** Arms the fault for every call until `replaceFaults({})`; returns the endpoint the next app should send to. */
async function arm(fault: Fault): Promise<string> {
  const settings: Record<Exclude<Fault, 'unreachable'>, FaultSettings> = {
    throttled: { throttleProbability: 1 },
    'a 500': { internalErrorProbability: 1 },
  };
  if (fault === 'unreachable') return unreachableEndpoint();
  world.emulator.control.setFaults({ operations: { BatchMeterUsage: settings[fault] } });
  return world.emulator.endpoint;
}

/**
 * Two customers, `1 + extra` and `2 + extra` calls. Lifetimes of one hour serve different amounts: an identical
 * quantity would be taken by AWS as a resend of the first lifetime's record and billed once.
 */
async function traffic(app: AppProcess, extra = 0): Promise<number> {
  return (await app.serve('cust-a', 1 + extra)) + (await app.serve('cust-b', 2 + extra));
}

describe.each<AdapterName>(['express', 'nest'])('SIGTERM on the %s adapter', (adapter) => {
  describe.each<Fault>(['throttled', 'unreachable', 'a 500'])('with the sink %s', (fault) => {
    it('memory store: the drain runs to its deadline, then the loss is reported and the exit code is 3', async () => {
      world = await ProcessWorld.start();
      world.setTime(H10 + 30 * MINUTE);
      const endpoint = await arm(fault);
      const app = await world.app(adapter, { store: 'memory', endpoint });
      const served = await traffic(app);
      const begun = Date.now();

      const exit = await app.terminate();

      expect(exit).toEqual({ code: UNSENT_USAGE_EXIT_CODE, signal: null });
      // The process stayed alive through the retries until the shutdown bound (1.5 s), instead of exiting mid-drain.
      expect(Date.now() - begun).toBeGreaterThanOrEqual(1_400);
      expect(
        app.lines.filter((l) => l.kind === 'event' && l.name === 'record.retrying').length,
      ).toBeGreaterThan(2);
      const left = app.left();
      expect(left).toMatchObject({ fate: 'lost', openUnits: 0, carriedUnits: 0, customers: 2 });
      // Unsent, or sent without an answer (a 500 may come after the service committed the call; a call still in flight
      // at the deadline is cut): every unit is accounted for, and none is called lost that may have been billed.
      expect(world.billed() + (left?.unsentUnits ?? 0) + (left?.unansweredUnits ?? 0)).toBe(served);
      if (fault === 'a 500') expect(left?.unsentUnits).toBe(0);
      const error = app.logs('error').join('\n');
      if ((left?.unsentUnits ?? 0) > 0) expect(error).toContain('sealed record(s) never billed');
      if ((left?.unansweredUnits ?? 0) > 0) expect(error).toContain('MAY HAVE BEEN BILLED');
      expect(error).toContain("CloudTrail events named 'BatchMeterUsage'");
      expect(error).not.toContain('cust-a');
      expect(app.logs('info').join('\n')).toMatch(
        /shutdown: 0 record\(s\).*left.*(LOST|may have been billed)/,
      );
    });

    it('SQLite store: an unsent closed hour is kept for the next start, which bills it', async () => {
      world = await ProcessWorld.start();
      world.setTime(H10 + 50 * MINUTE);
      const first = await world.app(adapter, { store: 'sqlite' });
      const served = await traffic(first);
      expect(await first.terminate()).toEqual({ code: null, signal: 'SIGTERM' });
      expect(first.left()).toMatchObject({ fate: 'kept', openUnits: served });
      expect(first.logs('info').join('\n')).toContain(`${served} unit(s) left (open ${served}`);

      // The hour has closed: the next start seals it and sends, into the fault. SIGTERM lands mid-retry.
      world.setTime(H10 + HOUR_MILLIS + 3 * MINUTE);
      const endpoint = await arm(fault);
      const second = await world.app(adapter, { store: 'sqlite', endpoint });
      await second.waitFor((l) => l.kind === 'event' && l.name === 'record.retrying', 'a retry');
      expect(await second.terminate()).toEqual({ code: null, signal: 'SIGTERM' });
      const left = second.left();
      expect(left).toMatchObject({ fate: 'kept', openUnits: 0, customers: 2 });
      expect(world.billed() + (left?.unsentUnits ?? 0) + (left?.unansweredUnits ?? 0)).toBe(served);
      expect(second.logs('warn').join('\n')).toContain('kept in the sqlite store');

      world.emulator.control.replaceFaults({});
      world.setTime(H10 + HOUR_MILLIS + 4 * MINUTE);
      const third = await world.app(adapter, { store: 'sqlite' });
      await third.waitFor((l) => l.kind === 'event' && l.name === 'record.accepted', 'a billed record');
      await expect.poll(() => world.billed(), { timeout: 15_000 }).toBe(served);
      expect(await third.terminate()).toEqual({ code: null, signal: 'SIGTERM' });
    });
  });

  it('reports records whose answer was lost as "may have been billed", not lost', async () => {
    world = await ProcessWorld.start();
    world.setTime(H10 + 30 * MINUTE);
    world.emulator.control.setFaults({ operations: { BatchMeterUsage: { dropResponseProbability: 1 } } });
    const app = await world.app(adapter, { store: 'memory' });
    const served = await traffic(app);

    const exit = await app.terminate();

    expect(exit.code).toBe(UNSENT_USAGE_EXIT_CODE);
    expect(world.billed()).toBe(served);
    expect(app.left()).toMatchObject({ unansweredUnits: served, unsentUnits: 0, unansweredRecords: 2 });
    const error = app.logs('error').join('\n');
    expect(error).toContain('MAY HAVE BEEN BILLED');
    expect(error).not.toContain('lost with the process');
  });

  it('bills exactly what three lifetimes in one hour served, with the default store', async () => {
    world = await ProcessWorld.start();
    let served = 0;
    for (const [lifetime, minute] of [10, 20, 30].entries()) {
      world.setTime(H10 + minute * MINUTE);
      const app = await world.app(adapter, { store: 'default' });
      served += await traffic(app, lifetime);
      expect(await app.terminate()).toEqual({ code: null, signal: 'SIGTERM' });
      expect(app.logs('info').join('\n')).toContain('must live on a disk that outlives');
    }
    expect(world.billed()).toBe(0);

    world.setTime(H10 + HOUR_MILLIS + 3 * MINUTE);
    const next = await world.app(adapter, { store: 'default' });
    await expect.poll(() => world.billed(), { timeout: 15_000 }).toBe(served);
    expect(await next.terminate()).toEqual({ code: null, signal: 'SIGTERM' });
    // One record per customer and hour: nothing refused as a duplicate, nothing carried.
    expect(world.emulator.ledger.records()).toHaveLength(2);
    expect(next.event('record.carried-forward')).toBeUndefined();
  });

  it('with the memory store, reports the units three lifetimes in one hour lose as carried, and exits 3', async () => {
    world = await ProcessWorld.start();
    let served = 0;
    let carried = 0;
    for (const [lifetime, minute] of [10, 20, 30].entries()) {
      world.setTime(H10 + minute * MINUTE);
      const app = await world.app(adapter, { store: 'memory' });
      expect(app.logs('warn').join('\n')).toContain('A RESTART WITHIN THE SAME UTC HOUR LOSES');
      served += await traffic(app, lifetime);
      const exit = await app.terminate();
      carried += app.left()?.carriedUnits ?? 0;
      if (minute > 10) {
        expect(exit.code).toBe(UNSENT_USAGE_EXIT_CODE);
        expect(app.logs('error').join('\n')).toContain('carried into an hour not closed yet');
      }
    }
    expect(world.billed() + carried).toBe(served);
    expect(carried).toBeGreaterThan(0);
  });
});

describe('two processes on one SQLite file', () => {
  it('count into the same hour and bill it once', async () => {
    world = await ProcessWorld.start();
    world.setTime(H10 + 40 * MINUTE);
    const [a, b] = await Promise.all([
      world.app('express', { store: 'default' }),
      world.app('express', { store: 'default' }),
    ]);
    const served = (await Promise.all([traffic(a), traffic(b)])).reduce((x, y) => x + y, 0);
    expect(await a.terminate()).toEqual({ code: null, signal: 'SIGTERM' });
    expect(await b.terminate()).toEqual({ code: null, signal: 'SIGTERM' });

    world.setTime(H10 + HOUR_MILLIS + 3 * MINUTE);
    const [c, d] = await Promise.all([
      world.app('express', { store: 'default' }),
      world.app('express', { store: 'default' }),
    ]);
    await expect.poll(() => world.billed(), { timeout: 15_000 }).toBe(served);
    await Promise.all([c.terminate(), d.terminate()]);
    expect(world.emulator.ledger.records()).toHaveLength(2);
  });
});
