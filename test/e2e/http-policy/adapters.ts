/**
 * The same metered API on every HTTP adapter (Express 4 and 5, Nest on platform-express and platform-fastify), so one
 * table of cases can be run against each over real HTTP, billed through the engine into an `InMemorySink`.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { type CustomerRef, HOUR_MILLIS, MemoryStore, silentLogger } from '@meterkit/core';
import type { HttpMeteringCounters, MissingCustomerPolicy } from '@meterkit/core/http';
import { InMemorySink, ManualClock } from '@meterkit/core/testing';
import { createMetering, responseBytesIn as expressBytesIn } from '@meterkit/express';
import { Meter, MeteringModule, MeteringService, responseBytesIn as nestBytesIn } from '@meterkit/nestjs';
import {
  Controller,
  type ExecutionContext,
  Get,
  type INestApplication,
  Module,
  Query,
  Res,
  StreamableFile,
} from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import express5, { type Request } from 'express';
import express4 from 'express4';

export const PRODUCT = 'prod-meterkit-policy';
export const ACME: CustomerRef = { customerIdentifier: 'cust-acme-0001' };
const DIMENSIONS = ['api_calls', 'export_kb'];

/**
 * The customer of a request, from its `x-customer` header (a test stand-in for authentication): `acme`, `async`
 * (a promise of acme), `throw` (the resolver throws), `reject` (its promise rejects); none: no customer.
 */
function customerOf(header: string | string[] | undefined): CustomerRef | undefined | Promise<CustomerRef> {
  switch (header) {
    case 'acme':
      return ACME;
    case 'async':
      return Promise.resolve(ACME);
    case 'throw':
      throw new Error('the customer directory is down');
    case 'reject':
      return Promise.reject(new Error('the customer directory is down'));
    default:
      return undefined;
  }
}

/** `kb` kilobytes of body, in chunks of at most 64 KiB. */
function* chunks(kb: number): Generator<Buffer> {
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  let left = kb * 1024;
  while (left > 0) {
    const size = Math.min(left, chunk.length);
    yield chunk.subarray(0, size);
    left -= size;
  }
}

function connectionsOf(server: Server): Promise<number> {
  return new Promise((resolve, reject) =>
    server.getConnections((error, count) => (error ? reject(error) : resolve(count))),
  );
}

const throws = (): never => {
  throw new Error('callback failure');
};

export interface RunningAdapter {
  readonly port: number;
  /** What the engine billed, by dimension, once the hour has closed and been sent. Zero quantities are left out. */
  billed(): Promise<Record<string, number>>;
  counters(): HttpMeteringCounters;
  /** Connections the server still has open. */
  connections(): Promise<number>;
  close(): Promise<void>;
}

export interface AdapterOptions {
  onMissingCustomer?: MissingCustomerPolicy;
  /** Bounds the request-path tally, refusing new keys once full (to test the 503 at capacity). */
  maxLiveKeys?: number;
}

export interface Adapter {
  readonly name: string;
  start(options?: AdapterOptions): Promise<RunningAdapter>;
}

/** The engine options every adapter gets: a manual clock, a memory store, an in-memory sink. */
function engineSetup(adapterOptions: AdapterOptions) {
  const clock = new ManualClock(Date.UTC(2026, 10, 26, 10));
  const sink = new InMemorySink();
  const options = {
    productCode: PRODUCT,
    dimensions: DIMENSIONS,
    sink,
    store: new MemoryStore(),
    clock,
    timers: clock,
    logger: silentLogger,
    checkpointMillis: 60_000,
    ...(adapterOptions.maxLiveKeys === undefined
      ? {}
      : { maxLiveKeys: adapterOptions.maxLiveKeys, onMaxLiveKeys: 'reject' as const }),
  };
  /** Closes the hour and sends it; sums what the sink billed per dimension. */
  const billedAfter = async (flush: () => Promise<unknown>) => {
    await clock.advance(HOUR_MILLIS + 5 * 60_000);
    await flush();
    const out: Record<string, number> = {};
    for (const { record } of sink.ledger.values()) {
      if (record.quantity > 0) out[record.key.dimension] = (out[record.key.dimension] ?? 0) + record.quantity;
    }
    return out;
  };
  return { options, billedAfter };
}

function expressAdapter(name: string, express: typeof express5): Adapter {
  return {
    name,
    async start(adapterOptions = {}) {
      const { options, billedAfter } = engineSetup(adapterOptions);
      const metering = createMetering({
        ...options,
        customer: (req: Request) => customerOf(req.headers['x-customer']),
        ...(adapterOptions.onMissingCustomer === undefined
          ? {}
          : { onMissingCustomer: adapterOptions.onMissingCustomer }),
      });
      await metering.start();
      const app = express();
      const calls = metering.meter('api_calls');
      const bytes = metering.meter({ dimension: 'export_kb', quantity: expressBytesIn(1024) });
      app.get('/calls', calls, (_req, res) => {
        res.json({ ok: true });
      });
      app.get('/status', calls, (req, res) => {
        res.status(Number(req.query.code)).send('status');
      });
      app.get('/handler-throws', calls, () => {
        throw new Error('handler failure');
      });
      app.get('/when-throws', metering.meter({ dimension: 'api_calls', when: throws }), (_req, res) => {
        res.json({ ok: true });
      });
      app.get(
        '/quantity-throws',
        metering.meter({ dimension: 'api_calls', quantity: throws }),
        (_req, res) => {
          res.json({ ok: true });
        },
      );
      app.get('/bytes', bytes, (req, res) => {
        res.type('text/plain').send(Buffer.alloc(Number(req.query.kb) * 1024, 0x61));
      });
      app.get('/stream', bytes, (req, res) => {
        res.type('text/plain');
        Readable.from(chunks(Number(req.query.kb))).pipe(res);
      });
      app.get('/big', calls, (req, res) => {
        res.type('text/plain').send(Buffer.alloc(Number(req.query.kb) * 1024, 0x61));
      });
      // Express's default error handler answers 500 (it would print the stack: keep the test output clean).
      app.use((error: Error, _req: Request, res: express5.Response, _next: express5.NextFunction) => {
        res.status(500).send(error.message);
      });
      const server = app.listen(0, '127.0.0.1') as Server;
      await new Promise((resolve) => server.once('listening', resolve));
      return {
        port: (server.address() as AddressInfo).port,
        billed: () => billedAfter(() => metering.flush()),
        counters: () => ({ ...metering.counters }),
        connections: () => connectionsOf(server),
        async close() {
          server.closeAllConnections();
          await new Promise((resolve) => server.close(resolve));
          await metering.shutdown();
        },
      };
    },
  };
}

type Reply = { status(code: number): unknown };

@Controller()
class PolicyController {
  @Meter('api_calls')
  @Get('calls')
  calls() {
    return { ok: true };
  }

  @Meter('api_calls')
  @Get('status')
  status(@Query('code') code: string, @Res({ passthrough: true }) reply: Reply) {
    reply.status(Number(code));
    return 'status';
  }

  @Meter('api_calls')
  @Get('handler-throws')
  handlerThrows() {
    throw new Error('handler failure');
  }

  @Meter({ dimension: 'api_calls', when: throws })
  @Get('when-throws')
  whenThrows() {
    return { ok: true };
  }

  @Meter({ dimension: 'api_calls', quantity: throws })
  @Get('quantity-throws')
  quantityThrows() {
    return { ok: true };
  }

  @Meter({ dimension: 'export_kb', quantity: nestBytesIn(1024) })
  @Get('bytes')
  bytes(@Query('kb') kb: string) {
    return new StreamableFile(Buffer.alloc(Number(kb) * 1024, 0x61), { type: 'text/plain' });
  }

  @Meter({ dimension: 'export_kb', quantity: nestBytesIn(1024) })
  @Get('stream')
  stream(@Query('kb') kb: string) {
    return new StreamableFile(Readable.from(chunks(Number(kb))), { type: 'text/plain' });
  }

  @Meter('api_calls')
  @Get('big')
  big(@Query('kb') kb: string) {
    return new StreamableFile(Buffer.alloc(Number(kb) * 1024, 0x61), {
      type: 'text/plain',
      length: Number(kb) * 1024,
    });
  }
}

function nestAdapter(name: string, platform: 'express' | 'fastify'): Adapter {
  return {
    name,
    async start(adapterOptions = {}) {
      const { options, billedAfter } = engineSetup(adapterOptions);
      @Module({
        imports: [
          MeteringModule.forRoot({
            ...options,
            customer: (context: ExecutionContext) =>
              customerOf(
                context.switchToHttp().getRequest<{ headers: Record<string, string> }>().headers[
                  'x-customer'
                ],
              ),
            schedule: { checkpoint: 3_600_000, dispatch: 3_600_000 },
            ...(adapterOptions.onMissingCustomer === undefined
              ? {}
              : { onMissingCustomer: adapterOptions.onMissingCustomer }),
          }),
        ],
        controllers: [PolicyController],
      })
      class PolicyModule {}
      const moduleRef = await Test.createTestingModule({ imports: [PolicyModule] }).compile();
      const app: INestApplication = moduleRef.createNestApplication(
        platform === 'express' ? new ExpressAdapter() : new FastifyAdapter(),
        { logger: false },
      );
      await app.listen(0, '127.0.0.1');
      const service = app.get(MeteringService);
      const server = app.getHttpServer() as Server;
      return {
        port: (server.address() as AddressInfo).port,
        billed: () => billedAfter(() => service.flush()),
        counters: () => ({ ...service.counters }),
        connections: () => connectionsOf(server),
        async close() {
          server.closeAllConnections();
          await app.close();
        },
      };
    },
  };
}

/** Every adapter the table runs against. */
export const adapters: Adapter[] = [
  expressAdapter('Express 5', express5),
  expressAdapter('Express 4', express4 as unknown as typeof express5),
  nestAdapter('Nest on platform-express', 'express'),
  nestAdapter('Nest on platform-fastify', 'fastify'),
];
