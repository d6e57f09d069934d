/** Starts the Express example: backend, metering, event handler, app and HTTP server, wired together. */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createMarketplaceEventHandler } from '@meterkit/aws-marketplace';
import { MemoryRegistry, type RegisteredCustomer } from '@meterkit/core';
import { createMetering, type ExpressMetering, registrationRouter } from '@meterkit/express';
import type { Response } from 'express';
import { createApp, DIMENSIONS } from './app.js';
import { type MeteringBackend, openBackend } from './backend.js';
import type { ExampleConfig } from './config.js';
import { type AuthenticatedRequest, type Customer, loadCustomers } from './customers.js';

/** The example, listening. */
export interface RunningExample {
  readonly server: Server;
  readonly url: string;
  readonly metering: ExpressMetering;
  readonly backend: MeteringBackend;
  readonly customers: ReadonlyMap<string, Customer>;
  /** Buyers who registered through `POST /marketplace/register`, with their subscription history. */
  readonly registry: MemoryRegistry;
}

/** Starts the example API on `config.port` (0 picks a free port). */
export async function startExample(
  config: ExampleConfig,
  log: (line: string) => void,
): Promise<RunningExample> {
  const customers = loadCustomers();
  const backend = await openBackend(config, customers, DIMENSIONS, log);
  const metering = createMetering({
    productCode: config.productCode,
    dimensions: DIMENSIONS,
    // The authenticated caller, attached by the API-key check; never a header naming a customer.
    customer: (req: AuthenticatedRequest) => req.customer?.billing,
    ...(backend.sink !== undefined && { sink: backend.sink }),
    ...(backend.store !== undefined && { store: backend.store }),
  });
  await metering.start();
  const emulator = backend.emulator;
  const registry = new MemoryRegistry();
  let issuedKeys = 0;
  /**
   * A buyer registered (the route has told metering: until AWS confirms with subscribe-success their usage is held,
   * not billed): give them an API key (the app's own account id, linked in the registry) and show it.
   */
  async function onRegistered(entry: RegisteredCustomer, _req: unknown, res: Response): Promise<void> {
    let apiKey = entry.accountId;
    if (apiKey === undefined) {
      issuedKeys += 1;
      apiKey = `demo-key-buyer-${issuedKeys}`;
      await registry.link(entry.customer, apiKey);
    }
    const name = `Marketplace buyer ${apiKey.slice('demo-key-buyer-'.length)}`;
    customers.set(apiKey, {
      record: { apiKey, name, productCode: entry.productCode, ...entry.customer },
      billing: entry.customer,
    });
    res
      .status(200)
      .type('html')
      .send(`<p>Your subscription is registered. Your API key: <code id="api-key">${apiKey}</code></p>`);
  }
  const registration = registrationRouter({
    registry,
    engine: metering.engine,
    productCodes: config.productCode,
    onRegistered: (entry, req, res) => onRegistered(entry, req, res as Response),
    // ResolveCustomer goes where metering goes: the emulator, or AWS from the SDK's own configuration.
    ...(backend.clientConfig !== undefined && { clientConfig: backend.clientConfig }),
  });
  const events = createMarketplaceEventHandler({
    engine: metering.engine,
    registry,
    productCodes: [config.productCode],
    // The emulator signs with its own key; against AWS the certificate is fetched from SNS.
    ...(emulator !== undefined && { certificateSource: async () => emulator.snsSigningKeyPem }),
  });
  const app = createApp(metering, customers, events, registration);
  const server = app.listen(config.port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  // The emulator tells this app when a buyer subscribes or unsubscribes, as AWS would over SNS.
  emulator?.control.setNotifications({ url: `http://127.0.0.1:${port}/marketplace/events` });
  return { server, url: `http://localhost:${port}`, metering, backend, customers, registry };
}
