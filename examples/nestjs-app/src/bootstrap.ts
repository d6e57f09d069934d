import 'reflect-metadata';
import { createMarketplaceEventHandler } from '@meterkit/aws-marketplace';
import type { Emulator } from '@meterkit/emulator';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';
import type { ExampleConfig } from './config.js';
import { loadCustomers } from './customers.js';
import { startMeteringBackend } from './metering-backend.js';

export interface RunningApp {
  readonly app: INestApplication;
  readonly url: string;
  /** The in-process emulator, when no AWS configuration was found. */
  readonly emulator: Emulator | undefined;
  readonly customers: ReturnType<typeof loadCustomers>;
}

/** Starts the example API on `config.port` (0 picks a free port). */
export async function startApp(
  config: ExampleConfig,
  log: (line: string) => void = console.log,
): Promise<RunningApp> {
  const customers = loadCustomers();
  const backend = await startMeteringBackend(config, log);
  const emulator = backend.emulator;
  const app = await NestFactory.create(
    AppModule.register({
      customers,
      productCode: config.productCode,
      sink: backend.sink,
      store: backend.store,
      events: (engine) =>
        createMarketplaceEventHandler({
          engine,
          productCodes: [config.productCode],
          // The emulator signs with its own key; against AWS the certificate is fetched from SNS.
          ...(emulator !== undefined && { certificateSource: async () => emulator.snsSigningKeyPem }),
        }),
    }),
    { logger: ['log', 'warn', 'error'] },
  );
  await app.listen(config.port, '127.0.0.1');
  const url = (await app.getUrl()).replace('[::1]', 'localhost');
  // The emulator tells this app when a buyer subscribes or unsubscribes, as AWS would over SNS.
  emulator?.control.setNotifications({ url: `${url.replace('localhost', '127.0.0.1')}/marketplace/events` });
  return { app, url, emulator: backend.emulator, customers };
}
