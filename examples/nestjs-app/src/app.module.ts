import type { UsageSink } from '@meterkit/core';
import { MeteringModule } from '@meterkit/nestjs';
import type { AdapterStoreOption } from '@meterkit/sqlite';
import { type DynamicModule, Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { ApiController } from './api.controller.js';
import { ApiKeyGuard, type AuthenticatedRequest } from './api-key.guard.js';
import { type AuthenticatedCustomer, CUSTOMERS } from './customers.js';
import { HealthController } from './health.controller.js';
import { DIMENSIONS } from './metering-backend.js';

export interface AppModuleOptions {
  readonly customers: ReadonlyMap<string, AuthenticatedCustomer>;
  readonly productCode: string;
  readonly sink: UsageSink | undefined;
  /** Undefined: the module's default store (a SQLite file). */
  readonly store: AdapterStoreOption | undefined;
}

@Module({})
export class AppModule {
  static register(options: AppModuleOptions): DynamicModule {
    return {
      module: AppModule,
      imports: [
        // The app's own scheduler; MeteringModule adds its jobs to it.
        ScheduleModule.forRoot(),
        MeteringModule.forRoot({
          productCode: options.productCode,
          dimensions: [...DIMENSIONS],
          sink: options.sink,
          store: options.store,
          shutdownTimeoutMillis: 10_000,
          // Bill whoever the API key guard authenticated; never a customer id from a raw header.
          customer: (context) => context.switchToHttp().getRequest<AuthenticatedRequest>().customer?.billing,
        }),
      ],
      controllers: [HealthController, ApiController],
      providers: [{ provide: CUSTOMERS, useValue: options.customers }, ApiKeyGuard],
    };
  }
}
