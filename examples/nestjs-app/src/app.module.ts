/** The example's Nest module: metering, registration, events and the controllers. */
import type { MarketplaceEventHandler } from '@meterkit/aws-marketplace';
import type { MeteringEngine, UsageSink } from '@meterkit/core';
import {
  MeteringModule,
  marketplaceEventsController,
  RegistrationModule,
  type RegistrationModuleOptions,
} from '@meterkit/nestjs';
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
  /** The registration route (`POST /marketplace/register`, the listing's fulfillment URL). */
  readonly registration: RegistrationModuleOptions;
  /** Builds the handler of AWS Marketplace subscription events, served at `POST /marketplace/events`. */
  readonly events: (engine: MeteringEngine) => MarketplaceEventHandler;
}

@Module({})
export class AppModule {
  static register(options: AppModuleOptions): DynamicModule {
    return {
      module: AppModule,
      imports: [
        // The app's own scheduler; MeteringModule adds its jobs to it.
        ScheduleModule.forRoot(),
        RegistrationModule.forRoot(options.registration),
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
      controllers: [
        HealthController,
        ApiController,
        // AWS Marketplace subscription events (an SNS HTTPS subscription; the emulator posts here too).
        marketplaceEventsController({ handler: options.events }),
      ],
      providers: [{ provide: CUSTOMERS, useValue: options.customers }, ApiKeyGuard],
    };
  }
}
