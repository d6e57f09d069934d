/** The Express e2e app (Express 4 and 5): a metered API on the emulator, driven over HTTP. */
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { MarketplaceMeteringSink } from '@meterkit/aws-marketplace';
import { type CustomerRef, HOUR_MILLIS, silentLogger } from '@meterkit/core';
import { ManualClock } from '@meterkit/core/testing';
import { type Emulator, startEmulator } from '@meterkit/emulator';
import { createMetering, type ExpressMeteringOptions, responseBytesIn } from '@meterkit/express';
import express5 from 'express';
import express4 from 'express4';

export const PRODUCT = 'prod-meterkit-demo';
export const DIMENSIONS = ['api_calls', 'reports', 'export_kb'] as const;
export const HOUR_10 = Date.UTC(2026, 10, 26, 10);

export const acme = {
  awsAccountId: '111122223333',
  licenseArn: 'arn:aws:license-manager::111122223333:license:l-acme00000000000001',
  productCode: PRODUCT,
} as const satisfies CustomerRef;
export const initech = {
  customerIdentifier: 'cust-initech-0001',
  productCode: PRODUCT,
} as const satisfies CustomerRef;
const customersByKey: Record<string, CustomerRef> = { 'demo-key-acme': acme, 'demo-key-initech': initech };

const require = createRequire(import.meta.url);
const versionOf = (name: string) => (require(`${name}/package.json`) as { version: string }).version;

/** Both Express majors, run through every scenario. */
export const expressVersions = [
  { name: 'Express 5', express: express5, version: versionOf('express') },
  { name: 'Express 4', express: express4, version: versionOf('express4') },
] as const;

type ExpressModule = typeof express5;
type Req = express5.Request & { customer?: CustomerRef };

/**
 * The demo API (the same routes as the example apps) plus test-only routes, on one Express major. Authentication
 * attaches the customer of a known API key and answers 401 otherwise; the metering resolver reads what it attached.
 */
export function buildApp(
  express: ExpressModule,
  metering: ReturnType<typeof createMetering>,
  hooks: AppHooks = {},
) {
  const app = express();
  app.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });
  const v1 = express.Router();
  v1.use((req: Req, res, next) => {
    const customer = customersByKey[req.get('x-api-key') ?? ''];
    if (customer === undefined && !hooks.skipAuthentication) {
      res.status(401).json({ error: 'unknown API key' });
      return;
    }
    req.customer = customer;
    next();
  });
  v1.get('/forecast', metering.meter('api_calls'), (req, res) => {
    if (typeof req.query.city !== 'string') {
      res.status(400).json({ error: 'city is required' });
      return;
    }
    res.json({ city: req.query.city, forecast: 'sunny' });
  });
  v1.post('/reports', express.json(), metering.meter(['api_calls', 'reports']), (req, res) => {
    res.status(201).json({ id: 'r-1', title: req.body?.title ?? 'untitled' });
  });
  v1.get(
    '/export',
    metering.meter({ dimension: 'export_kb', quantity: responseBytesIn(1024) }),
    (req, res) => {
      const rows = Number(req.query.rows ?? 100);
      res.json(Array.from({ length: rows }, (_, i) => ({ row: i, value: `value-${i}` })));
    },
  );
  v1.get('/boom', metering.meter('api_calls'), () => {
    throw new Error('handler failure');
  });
  v1.get('/stream', metering.meter('api_calls'), (_req, res) => {
    res.write('first chunk\n');
    hooks.onStream?.(res);
  });
  app.use('/v1', v1);
  const metered = express.Router();
  metered.get('/a', (_req, res) => {
    res.send('a');
  });
  metered.get('/b', (_req, res) => {
    res.send('b');
  });
  app.use('/metered', (req: Req, _res, next) => {
    req.customer = customersByKey[req.get('x-api-key') ?? ''];
    next();
  });
  app.use('/metered', metering.meter('api_calls'), metered);
  return app;
}

export interface AppHooks {
  /** Lets requests without a known key through to the meter (to test onMissingCustomer). */
  skipAuthentication?: boolean;
  /** Called when /v1/stream has written its first chunk; the test ends or abandons the response. */
  onStream?: (res: express5.Response) => void;
}

/**
 * An emulator and a metering on one manual clock (2026-11-26T10:00Z), with the real AWS SDK client talking to the
 * emulator over HTTP.
 */
export async function startStack(options: Partial<ExpressMeteringOptions> = {}) {
  const clock = new ManualClock(HOUR_10);
  const emulator: Emulator = await startEmulator({
    port: 0,
    now: () => clock.now(),
    products: [{ productCode: PRODUCT, dimensions: DIMENSIONS, licenseArns: [acme.licenseArn] }],
    customers: [
      { productCode: PRODUCT, customerAWSAccountId: acme.awsAccountId, licenseArn: acme.licenseArn },
      { productCode: PRODUCT, customerIdentifier: initech.customerIdentifier },
    ],
  });
  const sink = new MarketplaceMeteringSink({
    logger: silentLogger,
    clientConfig: {
      endpoint: emulator.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDEMULATOR', secretAccessKey: 'emulator-secret' },
    },
  });
  const metering = createMetering({
    sink,
    clock,
    timers: clock,
    logger: silentLogger,
    random: () => 0.5,
    productCode: PRODUCT,
    dimensions: DIMENSIONS,
    checkpointMillis: 60_000,
    customer: (req: Req) => req.customer,
    // Explicit: the adapter's default is a SQLite file in the working directory.
    store: 'memory',
    ...options,
  });
  await metering.start();
  const servers: Server[] = [];
  return {
    /** Slots a test may use to hand a server or a pending response between callbacks. */
    server: undefined as Server | undefined,
    response: undefined as Promise<unknown> | undefined,
    clock,
    emulator,
    metering,
    /** Listens on a free port; returns the server and its base URL. */
    async listen(app: ReturnType<typeof buildApp>) {
      const server = app.listen(0, '127.0.0.1') as Server;
      await new Promise((resolve) => server.once('listening', resolve));
      servers.push(server);
      return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
    },
    /** What the emulator billed, as `customer/dimension@hour → quantity`. */
    billed(): Record<string, number> {
      const out: Record<string, number> = {};
      for (const r of emulator.ledger.records()) {
        const who = r.customerAWSAccountId ?? r.customerIdentifier;
        const hour = new Date(r.hourStartMillis).toISOString().slice(11, 16);
        out[`${who}/${r.dimension}@${hour}`] = r.quantity;
      }
      return out;
    },
    async stop() {
      await metering.shutdown();
      for (const s of servers) s.closeAllConnections();
      await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
      await emulator.close();
    },
  };
}

export { HOUR_MILLIS };
