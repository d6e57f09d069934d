/** Starts the Nest example: metering backend, customers, event handler and the Nest application. */
import 'reflect-metadata';
import type { ServerResponse } from 'node:http';
import { createMarketplaceEventHandler } from '@meterkit/aws-marketplace';
import { MemoryRegistry, type RegisteredCustomer } from '@meterkit/core';
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
  /** Buyers who registered through `POST /marketplace/register`, with their subscription history. */
  readonly registry: MemoryRegistry;
}

/** Starts the example API on `config.port` (0 picks a free port). */
export async function startApp(
  config: ExampleConfig,
  log: (line: string) => void = console.log,
): Promise<RunningApp> {
  const customers = loadCustomers();
  const backend = await startMeteringBackend(config, log);
  const emulator = backend.emulator;
  const registry = new MemoryRegistry();
  let issuedKeys = 0;
  /**
   * A buyer registered (RegistrationModule has told MeteringModule's engine: until AWS confirms with subscribe-success
   * their usage is held, not billed): give them an API key (the app's own account id, linked in the registry) and show it.
   */
  async function onRegistered(entry: RegisteredCustomer, _req: unknown, res: ServerResponse): Promise<void> {
    let apiKey = entry.accountId;
    if (apiKey === undefined) {
      issuedKeys += 1;
      apiKey = `demo-key-buyer-${issuedKeys}`;
      await registry.link(entry.customer, apiKey);
    }
    const name = `Marketplace buyer ${apiKey.slice('demo-key-buyer-'.length)}`;
    customers.set(apiKey, {
      name,
      billing: entry.customer,
      record: { apiKey, name, productCode: entry.productCode, ...entry.customer },
    });
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<p>Your subscription is registered. Your API key: <code id="api-key">${apiKey}</code></p>`);
  }
  const app = await NestFactory.create(
    AppModule.register({
      customers,
      productCode: config.productCode,
      sink: backend.sink,
      store: backend.store,
      registration: {
        registry,
        productCodes: config.productCode,
        onRegistered,
        // ResolveCustomer goes where metering goes: the emulator, or AWS from the SDK's own configuration.
        ...(backend.clientConfig !== undefined && { clientConfig: backend.clientConfig }),
      },
      events: (engine) =>
        createMarketplaceEventHandler({
          engine,
          registry,
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
  return { app, url, emulator: backend.emulator, customers, registry };
}
