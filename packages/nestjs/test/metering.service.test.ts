// MeteringService, the facade apps inject: usage outside HTTP, flush, statistics with the HTTP counters, events.
import { MeteringEngine } from '@meterkit/core';
import { Controller, Get } from '@nestjs/common';
import { afterEach, describe, expect, it } from 'vitest';
import { Meter, MeteringService } from '../src/index.js';
import { ACME, startApp, type TestApp } from './support/nest-app.js';

@Controller()
class ApiController {
  @Meter('api_calls')
  @Get('calls')
  calls() {}
}

let running: TestApp | undefined;
afterEach(async () => {
  await running?.app.close();
  running = undefined;
});

describe('MeteringService', () => {
  it('bills usage recorded outside HTTP once the hour has closed and it is flushed', async () => {
    running = await startApp([]);
    expect(running.app.get(MeteringService).record(ACME, 'reports', 3)).toBe(true);
    expect(await running.billed()).toEqual([[ACME.customerIdentifier, 'reports', 3]]);
  });

  it("reports the engine's events", async () => {
    running = await startApp([]);
    const metering = running.app.get(MeteringService);
    expect(metering.events).toBe(running.app.get(MeteringEngine).events);
  });

  it("adds the HTTP counters to the engine's statistics, and shows them live", async () => {
    running = await startApp([ApiController], { customer: () => undefined });
    const metering = running.app.get(MeteringService);
    await fetch(`${running.url}/calls`);
    const stats = await metering.stats();
    expect(stats.requestsWithoutCustomer).toBe(1);
    expect(stats.http.servedWithoutCustomer).toBe(1);
    expect(metering.counters.servedWithoutCustomer).toBe(1);
  });
});
