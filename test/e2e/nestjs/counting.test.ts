import { request as httpRequest } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import type { CustomerRef } from '@meterkit/core';
import { Meter, MeteringService } from '@meterkit/nestjs';
import {
  type CanActivate,
  Controller,
  type ExecutionContext,
  Get,
  Injectable,
  UseGuards,
} from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import request from 'supertest';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RequestMeteringService } from '../../../packages/nestjs/src/request-metering.service.js';
import { ACME, type Harness, held, INITECH, platforms, startHarness } from './fixture.js';

/** A route-level authentication: attaches Initech for its token (after the app's global guard). */
@Injectable()
class InitechTokenGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const request = context
      .switchToHttp()
      .getRequest<{ headers: Record<string, string | undefined>; customer?: CustomerRef }>();
    if (request.headers['x-token'] === 'initech') request.customer = INITECH;
    return true;
  }
}

/** Metering declared where Nest would run its guard before the route's own authentication. */
@Meter('api_calls')
@Controller('v3')
class LocallyAuthenticatedController {
  @UseGuards(InitechTokenGuard)
  @Get('inherited')
  inherited() {
    return 'inherited';
  }

  @UseGuards(InitechTokenGuard)
  @Meter('reports')
  @Get('below')
  below() {
    return 'below';
  }
}

describe.each(platforms)('@meterkit/nestjs counting on %s', (platform) => {
  let harness: Harness;
  afterEach(async () => {
    await harness?.close();
  });

  function http() {
    return request(harness.app.getHttpServer());
  }

  it('bills one unit per successful response to the authenticated customer', async () => {
    // Prepare
    harness = await startHarness(platform);
    // Act
    for (let i = 0; i < 3; i++) await http().get('/v1/calls').set('x-api-key', 'key-acme').expect(200);
    await http().get('/v1/calls').set('x-api-key', 'key-initech').expect(200);
    await harness.close();
    // Assess
    expect(harness.billed(ACME, 'api_calls')).toBe(3);
    expect(harness.billed(INITECH, 'api_calls')).toBe(1);
  });

  it('bills each request of one keep-alive connection once, pipelined ones too', async () => {
    // Prepare
    harness = await startHarness(platform);
    const { port } = harness.app.getHttpServer().address() as AddressInfo;
    const socket = connect(port, '127.0.0.1');
    const call = 'GET /v1/calls HTTP/1.1\r\nHost: x\r\nx-api-key: key-acme\r\n\r\n';
    let text = '';
    const waiters: [count: number, resolve: () => void][] = [];
    socket.on('data', (chunk) => {
      text += chunk.toString();
      const seen = (text.match(/HTTP\/1\.1 200/g) ?? []).length;
      for (const [count, resolve] of waiters) if (seen >= count) resolve();
    });
    const answers = (count: number) => new Promise<void>((resolve) => waiters.push([count, resolve]));
    // Act: two requests in one write, so the second arrives while the first response is still being sent.
    socket.write(call + call);
    await answers(2);
    socket.write(call + call);
    await answers(4);
    socket.destroy();
    await harness.close();
    // Assess
    expect(harness.billed(ACME, 'api_calls')).toBe(4);
  });

  it('runs no metering code on a route without @Meter', async () => {
    // Prepare
    harness = await startHarness(platform);
    // Every metering hook, guard or interceptor, starts by asking the module's request metering what the route meters.
    const routeOf = vi.spyOn(RequestMeteringService.prototype, 'routeOf');
    try {
      // Act
      await http().get('/health').set('x-api-key', 'key-acme').expect(200);
      const onUnmetered = routeOf.mock.calls.length;
      await http().get('/v1/calls').set('x-api-key', 'key-acme').expect(200);
      // Assess
      expect(onUnmetered).toBe(0);
      expect(routeOf).toHaveBeenCalledTimes(1);
    } finally {
      routeOf.mockRestore();
    }
  });

  it('bills every dimension of a handler with several', async () => {
    harness = await startHarness(platform);
    await http().post('/v1/reports').set('x-api-key', 'key-acme').send({ title: 'q3' }).expect(201);
    await http().post('/v1/reports').set('x-api-key', 'key-acme').send({ title: 'q4' }).expect(201);
    await harness.close();
    expect(harness.billed(ACME, 'api_calls')).toBe(2);
    expect(harness.billed(ACME, 'reports')).toBe(2);
  });

  it('takes the quantity from what the handler returned', async () => {
    harness = await startHarness(platform);
    await http().get('/v1/rows?n=7').set('x-api-key', 'key-acme').expect(200);
    await http().get('/v1/rows?n=5').set('x-api-key', 'key-acme').expect(200);
    await harness.close();
    expect(harness.billed(ACME, 'rows')).toBe(12);
  });

  it('takes the quantity from the size of the response body', async () => {
    harness = await startHarness(platform);
    const response = await http().get('/v1/export?kb=3').set('x-api-key', 'key-acme').expect(200);
    await harness.close();
    const bytes = Buffer.byteLength(response.text);
    expect(harness.billed(ACME, 'export_kb')).toBe(Math.ceil(bytes / 1024));
    expect(harness.billed(ACME, 'export_kb')).toBe(4); // 3 KiB of data plus the JSON around it
  });

  it('bills no bytes for a HEAD request, whose body is never sent', async () => {
    harness = await startHarness(platform);
    await http().head('/v1/export?kb=20').set('x-api-key', 'key-acme').expect(200);
    await harness.close();
    expect(harness.billed(ACME, 'export_kb')).toBe(0);
  });

  it('hands the result to a quantity that says it uses it, whatever its declared parameters', async () => {
    harness = await startHarness(platform);
    await http().get('/v1/rows-variadic?n=4').set('x-api-key', 'key-acme').expect(200);
    await harness.close();
    expect(harness.billed(ACME, 'rows')).toBe(4);
  });

  it('counts nothing for a thrown exception that a filter answers with 200, on a route that watches its handler', async () => {
    harness = await startHarness(platform);
    const response = await http().get('/v1/fallback').set('x-api-key', 'key-acme').expect(200);
    await http().get('/v1/calls').set('x-api-key', 'key-acme').expect(200);
    await harness.close();
    expect(response.body).toEqual({ fallback: true });
    expect(harness.billed(ACME, 'api_calls')).toBe(1);
  });

  it.runIf(platform === 'fastify')(
    'counts responses injected without a network (Fastify inject)',
    async () => {
      harness = await startHarness(platform);
      const app = harness.app as NestFastifyApplication;
      const injected = await app.inject({
        method: 'GET',
        url: '/v1/export?kb=1',
        headers: { 'x-api-key': 'key-acme' },
      });
      await app.inject({ method: 'GET', url: '/v1/rows?n=3', headers: { 'x-api-key': 'key-acme' } });
      await harness.close();
      expect(injected.statusCode).toBe(200);
      expect(harness.billed(ACME, 'export_kb')).toBe(Math.ceil(Buffer.byteLength(injected.body) / 1024));
      expect(harness.billed(ACME, 'rows')).toBe(3);
    },
  );

  it('counts nothing for 4xx and 5xx responses', async () => {
    harness = await startHarness(platform);
    await http().get('/v1/bad-request').set('x-api-key', 'key-acme').expect(400);
    await http().get('/v1/crash').set('x-api-key', 'key-acme').expect(500);
    await http().get('/v1/calls').set('x-api-key', 'key-acme').expect(200);
    await harness.close();
    expect(harness.billed(ACME, 'api_calls')).toBe(1);
  });

  it('counts nothing for an error status set without throwing', async () => {
    harness = await startHarness(platform);
    await http().get('/v1/gone').set('x-api-key', 'key-acme').expect(410);
    await harness.close();
    expect(harness.billed(ACME, 'api_calls')).toBe(0);
  });

  it('counts nothing when the request is refused before metering (unknown API key)', async () => {
    harness = await startHarness(platform);
    await http().get('/v1/calls').set('x-api-key', 'key-stolen').expect(401);
    await harness.close();
    expect(harness.emulator.ledger.records()).toEqual([]);
  });

  it('counts a dimension only when its condition holds', async () => {
    harness = await startHarness(platform);
    await http().get('/v1/maybe?billable=yes').set('x-api-key', 'key-acme').expect(200);
    await http().get('/v1/maybe?billable=no').set('x-api-key', 'key-acme').expect(200);
    await harness.close();
    expect(harness.billed(ACME, 'reports')).toBe(1);
  });

  it('meters every handler of a metered controller, except skipped ones, and lets a handler override', async () => {
    harness = await startHarness(platform);
    await http().get('/v2/a').set('x-api-key', 'key-acme').expect(200);
    await http().get('/v2/free').set('x-api-key', 'key-acme').expect(200);
    await http().get('/v2/override').set('x-api-key', 'key-acme').expect(200);
    await http().get('/health').set('x-api-key', 'key-acme').expect(200);
    await harness.close();
    expect(harness.billed(ACME, 'api_calls')).toBe(1);
    expect(harness.billed(ACME, 'reports')).toBe(1);
  });

  it("resolves the customer after the route's own guards, whatever the order of the decorators", async () => {
    harness = await startHarness(platform, { controllers: [LocallyAuthenticatedController] });
    await http().get('/v3/inherited').set('x-token', 'initech').expect(200);
    await http().get('/v3/below').set('x-token', 'initech').expect(200);
    await harness.close();
    expect(harness.billed(INITECH, 'api_calls')).toBe(1);
    expect(harness.billed(INITECH, 'reports')).toBe(1);
  });

  it('counts nothing when the client goes away before the response has finished', async () => {
    // Prepare
    harness = await startHarness(platform);
    held.reset();
    const { port } = harness.app.getHttpServer().address() as AddressInfo;
    // Act: the client aborts while the handler runs; the handler then answers into a closed connection.
    const req = httpRequest({
      host: '127.0.0.1',
      port,
      path: '/v1/held',
      headers: { 'x-api-key': 'key-acme' },
    });
    req.on('error', () => undefined);
    req.end();
    await held.entered;
    req.destroy();
    await http().get('/v1/calls').set('x-api-key', 'key-acme').expect(200);
    await harness.close();
    // Assess: only the completed call
    expect(harness.billed(ACME, 'api_calls')).toBe(1);
  });

  it('bills usage recorded through MeteringService outside HTTP', async () => {
    harness = await startHarness(platform);
    const metering = harness.app.get(MeteringService);
    expect(metering.record(ACME, 'reports', 4)).toBe(true);
    await harness.close();
    expect(harness.billed(ACME, 'reports')).toBe(4);
  });

  it('sends closed hours on flush, stamped with the hour start', async () => {
    harness = await startHarness(platform);
    const metering = harness.app.get(MeteringService);
    const hourStart = harness.clock.now() - (harness.clock.now() % 3_600_000);
    await http().get('/v1/calls').set('x-api-key', 'key-acme').expect(200);
    await harness.clock.advance(3_600_000 + 120_000);
    const report = await metering.flush();
    expect(report.sealedRecords).toBe(1);
    expect(
      harness.emulator.ledger.records().map((r) => [r.dimension, r.quantity, r.hourStartMillis]),
    ).toEqual([['api_calls', 1, hourStart]]);
  });
});
