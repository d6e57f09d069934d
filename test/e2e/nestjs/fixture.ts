/** The Nest e2e app on express and fastify: metered controllers on the emulator, driven over HTTP. */
import type { IncomingMessage } from 'node:http';
import { MarketplaceMeteringSink } from '@meterkit/aws-marketplace';
import { type CustomerRef, silentLogger } from '@meterkit/core';
import { ManualClock } from '@meterkit/core/testing';
import { type Emulator, startEmulator } from '@meterkit/emulator';
import {
  Meter,
  MeteringModule,
  type MeteringModuleOptions,
  responseBodyBytes,
  SkipMeter,
} from '@meterkit/nestjs';
import {
  type ArgumentsHost,
  BadRequestException,
  Body,
  type CanActivate,
  Catch,
  Controller,
  type DynamicModule,
  type ExceptionFilter,
  type ExecutionContext,
  Get,
  HttpCode,
  type INestApplication,
  Injectable,
  Module,
  Post,
  type Provider,
  Query,
  Req,
  Res,
  type Type,
  UnauthorizedException,
  UseFilters,
} from '@nestjs/common';
import { APP_GUARD, HttpAdapterHost } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';

export type Platform = 'express' | 'fastify';
export const platforms: Platform[] = ['express', 'fastify'];

export const PRODUCT = 'prod-meterkit-e2e';
export const DIMENSIONS = ['api_calls', 'reports', 'rows', 'export_kb'] as const;
export const ACME: CustomerRef = {
  awsAccountId: '111122223333',
  licenseArn: 'arn:aws:license-manager::111122223333:license:l-acme00000000000001',
};
export const INITECH: CustomerRef = { customerIdentifier: 'cust-initech-0001' };

/** API key → customer: the guard authenticates the key and attaches the customer; the resolver reads only that. */
const customersByKey = new Map<string, CustomerRef>([
  ['key-acme', ACME],
  ['key-initech', INITECH],
]);

@Injectable()
export class ApiKeyGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const request = context
      .switchToHttp()
      .getRequest<{ headers: Record<string, string | undefined>; customer?: CustomerRef }>();
    const key = request.headers['x-api-key'];
    if (key === undefined) return true; // anonymous: allowed on these routes, billed to nobody
    const customer = customersByKey.get(key);
    if (customer === undefined) throw new UnauthorizedException('unknown API key');
    request.customer = customer;
    return true;
  }
}

export const customerFromRequest = (context: ExecutionContext): CustomerRef | undefined =>
  context.switchToHttp().getRequest<{ customer?: CustomerRef }>().customer;

/** Answers every exception with a 200 fallback page: the rare filter that hides a failure behind a success. */
@Catch()
@Injectable()
export class FallbackPageFilter implements ExceptionFilter {
  constructor(private readonly adapterHost: HttpAdapterHost) {}
  catch(_exception: unknown, host: ArgumentsHost): void {
    this.adapterHost.httpAdapter.reply(host.switchToHttp().getResponse(), { fallback: true }, 200);
  }
}

/** Tells a test when the held handler has started, so it can abort the request meanwhile. */
export const held = {
  entered: Promise.resolve(),
  enter: () => {},
  reset(): void {
    this.entered = new Promise<void>((resolve) => {
      this.enter = resolve;
    });
  },
};

@Controller()
export class HealthController {
  @Get('health')
  health() {
    return { status: 'ok' };
  }
}

@Controller('v1')
export class ApiController {
  @Meter('api_calls')
  @Get('calls')
  calls() {
    return { ok: true };
  }

  @Meter('api_calls', 'reports')
  @Post('reports')
  @HttpCode(201)
  report(@Body() body: { title?: string }) {
    return { id: 'r-1', title: body.title ?? 'untitled' };
  }

  @Meter({ dimension: 'rows', quantity: (_context, result) => (result as { rows: unknown[] }).rows.length })
  @Get('rows')
  rows(@Query('n') n: string) {
    return { rows: Array.from({ length: Number(n) }, (_, i) => ({ i })) };
  }

  @Meter({
    dimension: 'export_kb',
    quantity: (context) => Math.ceil((responseBodyBytes(context) ?? 0) / 1024),
  })
  @Get('export')
  export(@Query('kb') kb: string) {
    return { data: 'x'.repeat(Number(kb) * 1024) };
  }

  @Meter('api_calls')
  @Get('bad-request')
  badRequest() {
    throw new BadRequestException('city is required');
  }

  @Meter('api_calls')
  @Get('gone')
  gone(@Res({ passthrough: true }) response: { status(code: number): unknown }) {
    response.status(410);
    return { gone: true };
  }

  @Meter('api_calls')
  @Get('crash')
  crash() {
    throw new Error('boom');
  }

  /** Answers only once the client's connection has closed. */
  @Meter('api_calls')
  @Get('held')
  async held(@Req() request: { raw?: IncomingMessage } & IncomingMessage) {
    const socket = (request.raw ?? request).socket;
    const closed = new Promise((resolve) => socket.once('close', resolve));
    held.enter();
    await closed;
    return { data: 'too late' };
  }

  /** Its quantity hides the result parameter from `Function.length`, so it says it uses the result. */
  @Meter({
    dimension: 'rows',
    quantity: (...args: unknown[]) => (args[1] as { rows: unknown[] }).rows.length,
    usesResult: true,
  })
  @Get('rows-variadic')
  rowsVariadic(@Query('n') n: string) {
    return { rows: Array.from({ length: Number(n) }, (_, i) => ({ i })) };
  }

  /** Throws, and its filter answers 200: the route watches its handler so that this counts nothing. */
  @Meter({ dimension: 'api_calls', usesResult: true })
  @UseFilters(FallbackPageFilter)
  @Get('fallback')
  fallback() {
    throw new Error('backend down');
  }

  @Meter({ dimension: 'reports', when: (_context, result) => (result as { billable: boolean }).billable })
  @Get('maybe')
  maybe(@Query('billable') billable: string) {
    return { billable: billable === 'yes' };
  }
}

/** Controller-level metering: every handler counts `api_calls`, unless it opts out or overrides. */
@Meter('api_calls')
@Controller('v2')
export class MeteredController {
  @Get('a')
  a() {
    return 'a';
  }

  @SkipMeter()
  @Get('free')
  free() {
    return 'free';
  }

  @Meter('reports')
  @Get('override')
  override() {
    return 'override';
  }
}

export interface Harness {
  readonly app: INestApplication;
  readonly clock: ManualClock;
  readonly emulator: Emulator;
  /** Units the emulator billed, for a customer and dimension. */
  billed(customer: CustomerRef, dimension: string): number;
  close(): Promise<void>;
}

export function testSink(emulator: Emulator): MarketplaceMeteringSink {
  return new MarketplaceMeteringSink({
    clientConfig: {
      endpoint: emulator.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
      maxAttempts: 1,
    },
    logger: silentLogger,
  });
}

export interface HarnessOptions {
  options?: Partial<MeteringModuleOptions>;
  module?: (options: MeteringModuleOptions) => DynamicModule;
  controllers?: Type[];
  imports?: DynamicModule[];
  providers?: Provider[];
}

/** The fixture app on one platform, metering into the emulator, with a manual clock for engine and emulator. */
export async function startHarness(platform: Platform, harness: HarnessOptions = {}): Promise<Harness> {
  const clock = new ManualClock();
  const emulator = await startEmulator({ now: () => clock.now() });
  const options: MeteringModuleOptions = {
    sink: testSink(emulator),
    productCode: PRODUCT,
    dimensions: [...DIMENSIONS],
    customer: customerFromRequest,
    // Explicit: the adapter's default is a SQLite file in the working directory.
    store: 'memory',
    clock,
    timers: clock,
    logger: silentLogger,
    // Jobs far apart: tests move usage with flushes and shutdown, not with wall-clock timers.
    schedule: { checkpoint: 3_600_000, dispatch: 3_600_000 },
    ...harness.options,
  };
  @Module({
    imports: [(harness.module ?? ((o) => MeteringModule.forRoot(o)))(options), ...(harness.imports ?? [])],
    controllers: harness.controllers ?? [HealthController, ApiController, MeteredController],
    providers: [{ provide: APP_GUARD, useClass: ApiKeyGuard }, ...(harness.providers ?? [])],
  })
  class AppModule {}

  const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
  const app = moduleRef.createNestApplication(
    platform === 'express' ? new ExpressAdapter() : new FastifyAdapter(),
    {
      logger: false,
    },
  );
  try {
    await app.listen(0, '127.0.0.1');
  } catch (error) {
    await emulator.close();
    throw error;
  }
  let closed = false;
  return {
    app,
    clock,
    emulator,
    billed(customer, dimension) {
      return emulator.ledger.totalQuantity({
        dimension,
        ...(customer.licenseArn !== undefined
          ? { licenseArn: customer.licenseArn }
          : { customerIdentifier: customer.customerIdentifier }),
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
      await emulator.close();
    },
  };
}
