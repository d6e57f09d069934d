import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createMarketplaceEventHandler } from '@meterkit/aws-marketplace';
import { createMetering, type ExpressMetering } from '@meterkit/express';
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
  const events = createMarketplaceEventHandler({
    engine: metering.engine,
    productCodes: [config.productCode],
    // The emulator signs with its own key; against AWS the certificate is fetched from SNS.
    ...(emulator !== undefined && { certificateSource: async () => emulator.snsSigningKeyPem }),
  });
  const app = createApp(metering, customers, events);
  const server = app.listen(config.port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  // The emulator tells this app when a buyer subscribes or unsubscribes, as AWS would over SNS.
  emulator?.control.setNotifications({ url: `http://127.0.0.1:${port}/marketplace/events` });
  return { server, url: `http://localhost:${port}`, metering, backend, customers };
}
