import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import type { MeteringEvents } from '@meterkit/core';
import { MeteringConfigurationError } from '@meterkit/core';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp, expressVersions, HOUR_MILLIS, startStack } from './fixture.js';

const ACME = '111122223333';
const INITECH = 'cust-initech-0001';

describe.each(expressVersions)('$name under test', ({ name, version }) => {
  it('is the Express major it names', () => {
    expect(version.split('.')[0]).toBe(name.slice(-1));
  });
});

describe.each(expressVersions)('@meterkit/express on $name, billed through the emulator', ({ express }) => {
  const running: Awaited<ReturnType<typeof startStack>>[] = [];
  afterEach(async () => {
    for (const stack of running.splice(0)) await stack.stop();
  });
  async function start(options?: Parameters<typeof startStack>[0]) {
    const stack = await startStack(options);
    running.push(stack);
    return stack;
  }

  it('bills each customer once per dimension and hour, after the hour closes', async () => {
    const stack = await start();
    const app = buildApp(express, stack.metering);
    for (let i = 0; i < 3; i++) {
      await request(app).get('/v1/forecast?city=Paris').set('x-api-key', 'demo-key-acme').expect(200);
    }
    await request(app).get('/v1/forecast?city=Oslo').set('x-api-key', 'demo-key-initech').expect(200);
    await stack.clock.advance(HOUR_MILLIS + 120_000);
    await stack.metering.flush();
    expect(stack.billed()).toEqual({ [`${ACME}/api_calls@10:00`]: 3, [`${INITECH}/api_calls@10:00`]: 1 });
  });

  it('bills the export in kilobytes of response body', async () => {
    const stack = await start();
    const app = buildApp(express, stack.metering);
    const response = await request(app)
      .get('/v1/export?rows=500')
      .set('x-api-key', 'demo-key-acme')
      .expect(200);
    const kb = Math.ceil(Buffer.byteLength(response.text) / 1024);
    expect(kb).toBeGreaterThan(10);
    await stack.metering.shutdown();
    expect(stack.billed()).toEqual({ [`${ACME}/export_kb@10:00`]: kb });
  });

  it('bills several dimensions for one route', async () => {
    const stack = await start();
    const app = buildApp(express, stack.metering);
    await request(app)
      .post('/v1/reports')
      .send({ title: 'Q3' })
      .set('x-api-key', 'demo-key-initech')
      .expect(201);
    await request(app)
      .post('/v1/reports')
      .send({ title: 'Q4' })
      .set('x-api-key', 'demo-key-initech')
      .expect(201);
    await stack.metering.shutdown();
    expect(stack.billed()).toEqual({ [`${INITECH}/api_calls@10:00`]: 2, [`${INITECH}/reports@10:00`]: 2 });
  });

  it('meters every route under a router-level meter and nothing outside it', async () => {
    const stack = await start();
    const app = buildApp(express, stack.metering);
    await request(app).get('/metered/a').set('x-api-key', 'demo-key-acme').expect(200);
    await request(app).get('/metered/b').set('x-api-key', 'demo-key-acme').expect(200);
    await request(app).get('/health').set('x-api-key', 'demo-key-acme').expect(200);
    await stack.metering.shutdown();
    expect(stack.billed()).toEqual({ [`${ACME}/api_calls@10:00`]: 2 });
  });

  it('bills each request of one keep-alive connection once, pipelined ones too', async () => {
    const stack = await start();
    const { url } = await stack.listen(buildApp(express, stack.metering));
    const { hostname, port } = new URL(url);
    const socket = connect(Number(port), hostname);
    const forecast = (city: string) =>
      `GET /v1/forecast?city=${city} HTTP/1.1\r\nHost: x\r\nx-api-key: demo-key-acme\r\n\r\n`;
    const answered = new Promise<void>((resolve) => {
      let text = '';
      socket.on('data', (chunk) => {
        text += chunk.toString();
        if ((text.match(/HTTP\/1\.1 200/g) ?? []).length === 4) resolve();
      });
    });
    // Two requests in one write: the second arrives while the first response is still being sent.
    socket.write(forecast('Paris') + forecast('Oslo'));
    await new Promise((resolve) => setTimeout(resolve, 20));
    socket.write(forecast('Lima') + forecast('Rome'));
    await answered;
    socket.destroy();
    await stack.metering.shutdown();
    expect(stack.billed()).toEqual({ [`${ACME}/api_calls@10:00`]: 4 });
  });

  it('bills nothing for 4xx, 5xx, thrown errors or an unknown API key', async () => {
    const stack = await start();
    const app = buildApp(express, stack.metering);
    await request(app).get('/v1/forecast').set('x-api-key', 'demo-key-acme').expect(400);
    await request(app).get('/v1/boom').set('x-api-key', 'demo-key-acme').expect(500);
    await request(app).get('/v1/forecast?city=Paris').set('x-api-key', 'stolen-key').expect(401);
    await request(app).get('/v1/nowhere').set('x-api-key', 'demo-key-acme').expect(404);
    await stack.metering.shutdown();
    expect(stack.billed()).toEqual({});
  });

  it('bills nothing for a request aborted before its response finished', async () => {
    const stack = await start();
    let served = 0;
    const closedEarly = new Promise<void>((resolve) => {
      const app = buildApp(express, stack.metering, {
        onStream: (res) => {
          served += 1;
          // The first request completes; the second is left hanging until the client goes away.
          if (served === 1) res.end('done\n');
          else res.on('close', () => resolve());
        },
      });
      void stack.listen(app).then(async ({ url }) => {
        await request(url).get('/v1/stream').set('x-api-key', 'demo-key-acme').expect(200);
        const req = httpRequest(`${url}/v1/stream`, { headers: { 'x-api-key': 'demo-key-acme' } });
        req.on('response', (response) => response.once('data', () => req.destroy()));
        req.on('error', () => undefined);
        req.end();
      });
    });
    await closedEarly;
    await stack.metering.shutdown();
    expect(served).toBe(2);
    expect(stack.billed()).toEqual({ [`${ACME}/api_calls@10:00`]: 1 });
  });

  it('serves a request without a customer, bills nothing and reports it', async () => {
    const stack = await start();
    const rejected: MeteringEvents['usage.rejected'][] = [];
    stack.metering.engine.events.on('usage.rejected', (event) => rejected.push(event));
    const app = buildApp(express, stack.metering, { skipAuthentication: true });
    await request(app).get('/v1/forecast?city=Paris').expect(200);
    await stack.metering.shutdown();
    expect(rejected.map((e) => [e.reason, e.dimension])).toEqual([['missing-customer', 'api_calls']]);
    expect(stack.metering.counters.servedWithoutCustomer).toBe(1);
    expect(stack.billed()).toEqual({});
  });

  it.each([401, 403] as const)(
    'answers %i for a request without a customer under that policy',
    async (status) => {
      const stack = await start({ onMissingCustomer: status });
      const app = buildApp(express, stack.metering, { skipAuthentication: true });
      const response = await request(app).get('/v1/forecast?city=Paris').expect(status);
      expect(response.body).not.toHaveProperty('forecast');
      await stack.metering.shutdown();
      expect(stack.billed()).toEqual({});
    },
  );

  it('refuses an undeclared dimension when the route is declared', async () => {
    const stack = await start();
    const app = express();
    const declare = () => app.get('/x', stack.metering.meter('api-calls'), (_req, res) => res.end());
    expect(declare).toThrow(MeteringConfigurationError);
    expect(declare).toThrow(/meter\('api-calls'\).*not one of the product's declared dimensions/);
  });
});
