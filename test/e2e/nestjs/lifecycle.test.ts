import { type CustomerRef, MeteringConfigurationError, type MeteringEvents } from '@meterkit/core';
import {
  METERING_JOBS,
  Meter,
  MeteringInterceptor,
  MeteringModule,
  type MeteringModuleOptions,
  MeteringService,
} from '@meterkit/nestjs';
import { Controller, type ExecutionContext, Get, Injectable, Module } from '@nestjs/common';
import { Interval, ScheduleModule, SchedulerRegistry } from '@nestjs/schedule';
import request from 'supertest';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ACME, type Harness, INITECH, platforms, startHarness } from './fixture.js';

@Controller('typo')
class TypoController {
  @Meter('x'.repeat(300))
  @Get()
  typo() {
    return 'never served';
  }
}

@Meter('searches')
@Controller('undeclared')
class UndeclaredController {
  @Get()
  search() {
    return 'never served';
  }
}

/** Bills every request to Acme, whoever asks: shows a subclass hook in use. */
@Injectable()
class BillEverythingToAcme extends MeteringInterceptor {
  protected override resolveCustomer(_context: ExecutionContext): CustomerRef {
    return ACME;
  }
}

@Injectable()
class AppJobs {
  static runs = 0;
  @Interval(5_000)
  tick() {
    AppJobs.runs += 1;
  }
}

const CONFIG = Symbol('CONFIG');
@Module({
  providers: [{ provide: CONFIG, useValue: { productCode: 'prod-meterkit-e2e' } }],
  exports: [CONFIG],
})
class ConfigModule {}

describe.each(platforms)('@meterkit/nestjs lifecycle on %s', (platform) => {
  let harness: Harness | undefined;
  afterEach(async () => {
    vi.useRealTimers();
    await harness?.close();
    harness = undefined;
  });

  async function startupError(options: Parameters<typeof startHarness>[1]): Promise<unknown> {
    try {
      harness = await startHarness(platform, options);
    } catch (error) {
      return error;
    }
    throw new Error('start-up was expected to fail');
  }

  it('fails start-up on an invalid @Meter() dimension, naming Controller.method', async () => {
    const error = await startupError({ controllers: [TypoController] });
    expect(error).toBeInstanceOf(MeteringConfigurationError);
    expect((error as MeteringConfigurationError).code).toBe('ERR_METERING_INVALID_DIMENSION');
    expect((error as Error).message).toContain('TypoController.typo');
  });

  it("fails start-up on a controller's dimension that the product does not declare", async () => {
    const error = await startupError({ controllers: [UndeclaredController] });
    expect((error as MeteringConfigurationError).code).toBe('ERR_METERING_UNDECLARED_DIMENSION');
    expect((error as Error).message).toContain('UndeclaredController');
  });

  it('fails start-up on an unknown option, with the engine typed error', async () => {
    const error = await startupError({ options: { checkpointMilis: 500 } as Partial<MeteringModuleOptions> });
    expect((error as MeteringConfigurationError).code).toBe('ERR_METERING_UNKNOWN_OPTION');
    expect((error as MeteringConfigurationError).field).toBe('checkpointMilis');
  });

  it('fails start-up on an invalid engine option, naming the field', async () => {
    const error = await startupError({ options: { checkpointMillis: 1 } });
    expect((error as MeteringConfigurationError).field).toBe('checkpointMillis');
  });

  it('fails start-up without a customer resolver', async () => {
    const error = await startupError({
      options: { customer: undefined } as unknown as Partial<MeteringModuleOptions>,
    });
    expect((error as MeteringConfigurationError).field).toBe('customer');
  });

  it('takes its options from forRootAsync with injected dependencies', async () => {
    harness = await startHarness(platform, {
      module: ({ productCode: _ignored, ...rest }) =>
        MeteringModule.forRootAsync({
          imports: [ConfigModule],
          inject: [CONFIG],
          useFactory: (config: { productCode: string }) => ({ ...rest, productCode: config.productCode }),
        }),
    });
    await request(harness.app.getHttpServer()).get('/v1/calls').set('x-api-key', 'key-acme').expect(200);
    await harness.close();
    expect(harness.billed(ACME, 'api_calls')).toBe(1);
  });

  it('serves a request without customer, bills nothing and reports it', async () => {
    // Prepare
    harness = await startHarness(platform);
    const rejected: MeteringEvents['usage.rejected'][] = [];
    harness.app.get(MeteringService).events.on('usage.rejected', (event) => rejected.push(event));
    // Act
    await request(harness.app.getHttpServer()).get('/v1/calls').expect(200);
    const stats = await harness.app.get(MeteringService).stats();
    await harness.close();
    // Assess
    expect(harness.emulator.ledger.records()).toEqual([]);
    expect(rejected.map((e) => [e.reason, e.dimension])).toEqual([['missing-customer', 'api_calls']]);
    expect(stats.requestsWithoutCustomer).toBe(1);
  });

  it('refuses a request without customer before the handler when told to', async () => {
    harness = await startHarness(platform, { options: { onMissingCustomer: 401 } });
    await request(harness.app.getHttpServer()).get('/v1/calls').expect(401);
    await request(harness.app.getHttpServer()).get('/health').expect(200);
  });

  it('runs a global subclass once per request, with its hooks, next to @Meter() on the route', async () => {
    harness = await startHarness(platform, {
      module: (options) => MeteringModule.forRoot({ ...options, globalInterceptor: BillEverythingToAcme }),
    });
    await request(harness.app.getHttpServer()).get('/v1/calls').set('x-api-key', 'key-initech').expect(200);
    await request(harness.app.getHttpServer()).get('/health').expect(200);
    await harness.close();
    expect(harness.billed(ACME, 'api_calls')).toBe(1);
    expect(harness.billed(INITECH, 'api_calls')).toBe(0);
  });

  it('answers 503 rather than serve usage it could not bill, under the reject policy', async () => {
    harness = await startHarness(platform, { options: { onMaxLiveKeys: 'reject', maxLiveKeys: 1 } });
    await request(harness.app.getHttpServer()).get('/v1/calls').set('x-api-key', 'key-acme').expect(200);
    await request(harness.app.getHttpServer()).get('/v1/calls').set('x-api-key', 'key-initech').expect(503);
    await harness.close();
    expect(harness.billed(ACME, 'api_calls')).toBe(1);
    expect(harness.billed(INITECH, 'api_calls')).toBe(0);
  });

  it("adds its jobs to the app's SchedulerRegistry at bootstrap and removes them at shutdown", async () => {
    harness = await startHarness(platform, {
      imports: [ScheduleModule.forRoot()],
      options: { schedule: { checkpoint: 1_000, dispatch: '*/10 * * * * *' } },
    });
    const registry = harness.app.get(SchedulerRegistry);
    expect(registry.doesExist('interval', METERING_JOBS.checkpoint)).toBe(true);
    expect(registry.doesExist('cron', METERING_JOBS.dispatch)).toBe(true);
    await harness.close();
    expect(registry.getIntervals()).not.toContain(METERING_JOBS.checkpoint);
    expect([...registry.getCronJobs().keys()]).not.toContain(METERING_JOBS.dispatch);
  });

  it('moves counts into the store on the checkpoint job', async () => {
    // Prepare: only setInterval is faked, so HTTP keeps working.
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    harness = await startHarness(platform, { options: { schedule: { checkpoint: 1_000 } } });
    const metering = harness.app.get(MeteringService);
    await request(harness.app.getHttpServer()).get('/v1/calls').set('x-api-key', 'key-acme').expect(200);
    expect((await metering.stats()).openUnits).toBe(0);
    // Act
    await vi.advanceTimersByTimeAsync(1_000);
    // Assess
    await vi.waitFor(async () => expect((await metering.stats()).openUnits).toBe(1));
  });

  it("runs the app's own scheduled jobs once, next to its own", async () => {
    // Prepare: an app job on ScheduleModule; only setInterval is faked, so HTTP keeps working.
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    AppJobs.runs = 0;
    harness = await startHarness(platform, { imports: [ScheduleModule.forRoot()], providers: [AppJobs] });
    // Act
    await vi.advanceTimersByTimeAsync(5_000);
    // Assess
    expect(AppJobs.runs).toBe(1);
    expect(harness.app.get(SchedulerRegistry).doesExist('interval', METERING_JOBS.checkpoint)).toBe(true);
  });
});
