import type { MeteringEngine } from '@meterkit/core';
import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { METERING_ADAPTER_OPTIONS, METERING_ENGINE } from './metering.constants.js';
import { MeteringExplorer } from './metering.explorer.js';
import { MeteringInterceptor } from './metering.interceptor.js';
import { ConfigurableModuleClass, METERING_MODULE_OPTIONS } from './metering.module-definition.js';
import { MeteringScheduler } from './metering.scheduler.js';
import { MeteringService } from './metering.service.js';
import type { MeteringModuleOptions } from './metering-module-options.interface.js';
import { createEngineForModule, resolveAdapterOptions } from './metering-options.js';

/**
 * Usage metering for AWS Marketplace in a Nest app: `@Meter()` on routes, `MeteringService` everywhere, background
 * sealing and sending as `@nestjs/schedule` jobs, and a final drain at shutdown (call `app.enableShutdownHooks()`).
 *
 * Its jobs go to the app's `SchedulerRegistry` when the app imports `ScheduleModule.forRoot()`, and to a registry of
 * its own otherwise. Global by default.
 *
 * @example
 * ```ts
 * @Module({
 *   imports: [
 *     MeteringModule.forRoot({
 *       productCode: 'prod-abc123',
 *       dimensions: ['api_calls'],
 *       customer: (ctx) => ctx.switchToHttp().getRequest().user?.billing,
 *     }),
 *   ],
 * })
 * export class AppModule {}
 * ```
 * @throws {MeteringConfigurationError} at start-up, for invalid options or a bad `@Meter()` dimension.
 */
@Module({
  imports: [DiscoveryModule],
  providers: [
    {
      provide: METERING_ENGINE,
      inject: [METERING_MODULE_OPTIONS],
      useFactory: (options: MeteringModuleOptions) => createEngineForModule(options),
    },
    {
      provide: METERING_ADAPTER_OPTIONS,
      inject: [METERING_MODULE_OPTIONS, METERING_ENGINE],
      useFactory: (options: MeteringModuleOptions, engine: MeteringEngine) =>
        resolveAdapterOptions(options, engine),
    },
    MeteringService,
    MeteringInterceptor,
    MeteringExplorer,
    MeteringScheduler,
  ],
  exports: [METERING_ENGINE, METERING_ADAPTER_OPTIONS, MeteringService, MeteringInterceptor],
})
export class MeteringModule extends ConfigurableModuleClass {}
