// Provides MeteringHealthIndicator with its bounds; import it next to MeteringModule and TerminusModule.
import type { MeteringHealthOptions } from '@meterkit/core/ops';
import { type DynamicModule, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { METERING_HEALTH_OPTIONS, MeteringHealthIndicator } from './metering.health.js';

/**
 * @example
 * ```ts
 * imports: [MeteringModule.forRoot({ … }), MeteringHealthModule.forRoot({ maxDeadLetters: 10 })]
 * ```
 */
@Module({})
export class MeteringHealthModule {
  static forRoot(options: MeteringHealthOptions = {}): DynamicModule {
    return {
      module: MeteringHealthModule,
      imports: [TerminusModule],
      providers: [{ provide: METERING_HEALTH_OPTIONS, useValue: options }, MeteringHealthIndicator],
      exports: [MeteringHealthIndicator, TerminusModule],
    };
  }
}
