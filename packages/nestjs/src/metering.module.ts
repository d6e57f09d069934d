/** MeteringModule: the engine, the request metering behind `@Meter()`, the lifecycle owner and the public facade. */
import { MeteringEngine } from '@meterkit/core';
import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { METERING_ADAPTER_OPTIONS, METERING_ENGINE } from './metering.constants.js';
import { MeteringExplorer } from './metering.explorer.js';
import { MeteringInterceptor } from './metering.interceptor.js';
import { ConfigurableModuleClass, METERING_MODULE_OPTIONS } from './metering.module-definition.js';
import { MeteringService } from './metering.service.js';
import { createEngineForModule } from './metering-engine.factory.js';
import { MeteringLifecycle } from './metering-lifecycle.js';
import {
  type MeteringModuleOptions,
  type ResolvedMeteringOptions,
  resolveMeteringOptions,
} from './metering-options.js';
import { RequestMeteringService } from './request-metering.service.js';

/**
 * Usage metering for AWS Marketplace in a Nest app: `@Meter()` on routes, `MeteringService` everywhere, background
 * sealing and sending as `@nestjs/schedule` jobs, and a final drain at shutdown (call `app.enableShutdownHooks()`).
 *
 * Its jobs go to the app's `SchedulerRegistry` when the app imports `ScheduleModule.forRoot()`, and to a registry of
 * its own otherwise. Global by default. The engine is injectable by its class, `MeteringEngine` (or `METERING_ENGINE`).
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
      // Resolved and validated once; the engine validates its own share when it is created from them.
      provide: METERING_ADAPTER_OPTIONS,
      inject: [METERING_MODULE_OPTIONS],
      useFactory: (options: MeteringModuleOptions) => resolveMeteringOptions(options),
    },
    {
      provide: MeteringEngine,
      inject: [METERING_ADAPTER_OPTIONS],
      useFactory: (options: ResolvedMeteringOptions) => createEngineForModule(options),
    },
    { provide: METERING_ENGINE, useExisting: MeteringEngine },
    RequestMeteringService,
    MeteringService,
    MeteringInterceptor,
    MeteringExplorer,
    MeteringLifecycle,
  ],
  exports: [
    MeteringEngine,
    METERING_ENGINE,
    METERING_ADAPTER_OPTIONS,
    RequestMeteringService,
    MeteringService,
    MeteringInterceptor,
  ],
})
export class MeteringModule extends ConfigurableModuleClass {}
