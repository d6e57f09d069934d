import { HOUR_MILLIS } from '@meterkit/core';
import { MeteringAdminModule, MeteringService } from '@meterkit/nestjs';
import { MeteringHealthIndicator, MeteringHealthModule } from '@meterkit/nestjs/terminus';
import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { afterEach, describe, expect, it } from 'vitest';
import { ACME, type Harness, platforms, startHarness } from './fixture.js';

const MINUTE = 60_000;
const START = Date.UTC(2026, 10, 26, 10);
const TOKEN = 'operator-token-0123456789abcdef';

@Controller('health')
class TerminusHealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly metering: MeteringHealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  check() {
    return this.health.check([() => this.metering.isHealthy('metering')]);
  }
}

let h: Harness | undefined;
afterEach(async () => {
  if (h !== undefined) {
    h.emulator.control.reset();
    const service = h.app.get(MeteringService);
    let done = false;
    const drained = service.engine.shutdown({ timeoutMillis: 10 * MINUTE }).finally(() => {
      done = true;
    });
    while (!done) {
      await h.clock.advance(1_000);
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await drained;
  }
  await h?.close();
  h = undefined;
});

describe.each(platforms)('MeteringHealthIndicator (Terminus, %s)', (platform) => {
  it('reports down (503) while the sink has failed for longer than the bound, and up once it answers', async () => {
    // Prepare: the next three BatchMeterUsage calls fail with a 500.
    h = await startHarness(platform, {
      imports: [MeteringHealthModule.forRoot({ maxSinkFailureMillis: 15 * MINUTE })],
      controllers: [TerminusHealthController],
    });
    const url = await h.app.getUrl();
    const service = h.app.get(MeteringService);
    h.emulator.control.scheduleFaults({ fault: 'internal-error', operation: 'BatchMeterUsage', count: 3 });
    service.record(ACME, 'api_calls', 4);
    const flushAt = async (at: number) => {
      await h?.clock.advanceTo(at);
      await service.flush({ timeoutMillis: MINUTE });
    };
    // Act + Assess
    await flushAt(START + HOUR_MILLIS + 3 * MINUTE);
    expect((await fetch(`${url}/health`)).status).toBe(200);
    await flushAt(START + HOUR_MILLIS + 10 * MINUTE);
    await flushAt(START + HOUR_MILLIS + 20 * MINUTE);
    const down = await fetch(`${url}/health`);
    expect(down.status).toBe(503);
    expect(await down.json()).toMatchObject({
      status: 'error',
      error: { metering: { status: 'down', checks: { sink: { healthy: false, failedCalls: 3 } } } },
    });
    await flushAt(START + HOUR_MILLIS + 30 * MINUTE);
    const up = await fetch(`${url}/health`);
    expect(up.status).toBe(200);
    expect(await up.json()).toMatchObject({ status: 'ok', info: { metering: { status: 'up' } } });
    expect(h.billed(ACME, 'api_calls')).toBe(4);
  });
});

describe.each(platforms)('MeteringAdminModule (%s)', (platform) => {
  it('answers status with the token and 401 without it', async () => {
    h = await startHarness(platform, { imports: [MeteringAdminModule.forRoot({ token: TOKEN })] });
    const url = await h.app.getUrl();
    h.app.get(MeteringService).record(ACME, 'api_calls', 4);
    await h.app.get(MeteringService).flush({ timeoutMillis: MINUTE });
    expect((await fetch(`${url}/_meterkit/status`)).status).toBe(401);
    const response = await fetch(`${url}/_meterkit/status`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ open: { keys: 1, units: 4 }, deadLetters: { total: 0 } });
  });
});
