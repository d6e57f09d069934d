// MeteringLifecycle in real Nest apps: the finish channel, the engine's start and jobs, and the drain at shutdown.
import { channel } from 'node:diagnostics_channel';
import { Controller, Get } from '@nestjs/common';
import { ScheduleModule, SchedulerRegistry } from '@nestjs/schedule';
import { afterEach, describe, expect, it } from 'vitest';
import { METERING_JOBS, Meter, MeteringService } from '../src/index.js';
import { ACME, startApp, type TestApp } from './support/nest-app.js';

@Controller()
class ApiController {
  @Meter('api_calls')
  @Get('calls')
  calls() {}
}

const finishChannel = channel('http.server.response.finish');

let running: TestApp | undefined;
afterEach(async () => {
  await running?.app.close();
  running = undefined;
});

describe('MeteringLifecycle', () => {
  it("holds Node's response-finish channel from start-up to shutdown", async () => {
    expect(finishChannel.hasSubscribers).toBe(false);
    running = await startApp([ApiController]);
    expect(finishChannel.hasSubscribers).toBe(true);
    await running.app.close();
    running = undefined;
    expect(finishChannel.hasSubscribers).toBe(false);
  });

  it("adds the engine's jobs to the app's registry, and removes them at shutdown", async () => {
    running = await startApp([ApiController], {}, [ScheduleModule.forRoot()]);
    const registry = running.app.get(SchedulerRegistry);
    expect(registry.getIntervals().sort()).toEqual([METERING_JOBS.checkpoint, METERING_JOBS.dispatch]);
    await running.app.close();
    running = undefined;
    expect(registry.getIntervals()).toEqual([]);
  });

  it('adds no job when the engine schedules itself', async () => {
    running = await startApp([ApiController], { scheduling: 'internal' }, [ScheduleModule.forRoot()]);
    expect(running.app.get(SchedulerRegistry).getIntervals()).toEqual([]);
  });

  it('fails the start for a cron expression cron refuses, naming the schedule', async () => {
    await expect(
      startApp([ApiController], { schedule: { checkpoint: 'every five minutes' } }),
    ).rejects.toMatchObject({ code: 'ERR_METERING_INVALID_OPTION', field: 'schedule.checkpoint' });
  });

  it("drains at shutdown: the memory store's open hour is sealed and sent", async () => {
    running = await startApp([ApiController]);
    const { app, sink } = running;
    await fetch(`${running.url}/calls`);
    await app.close();
    running = undefined;
    const billed = [...sink.ledger.values()].map(({ record }) => [
      record.key.customerIdentifier,
      record.quantity,
    ]);
    expect(billed).toEqual([[ACME.customerIdentifier, 1]]);
  });

  it("moves usage into the new hour at the boundary with no job run: the engine's own hour timer", async () => {
    running = await startApp([ApiController]);
    const { clock, app } = running;
    const hourStart = clock.now() - (clock.now() % 3_600_000);
    await clock.advanceTo(hourStart + 3_600_000 - 1_000);
    await fetch(`${running.url}/calls`);
    await clock.advance(2_000);
    await fetch(`${running.url}/calls`);
    await clock.advance(2 * 3_600_000);
    await app.get(MeteringService).flush();
    const hours = [...running.sink.ledger.values()].map(({ record }) => record.hourStart).sort();
    expect(hours).toEqual([hourStart, hourStart + 3_600_000]);
  });
});
