import { createServer } from 'node:http';
import type { MeteringEvents } from '@meterkit/core';
import { watchFinish } from '@meterkit/core/http';
import { configurationErrorOf } from '@meterkit/core/testing';
import express from 'express';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { type AuthenticatedRequest, setup } from './helpers/setup.js';

const ACME = '111122223333';
const INITECH = 'cust-initech-0001';

describe('meter()', () => {
  it('counts each successful request once for the authenticated customer', async () => {
    const { app, metering, billed } = setup();
    app.get('/things', metering.meter('api_calls'), (_req, res) => {
      res.json({ ok: true });
    });
    await request(app).get('/things').set('x-api-key', 'key-acme').expect(200);
    await request(app).get('/things').set('x-api-key', 'key-acme').expect(200);
    await request(app).get('/things').set('x-api-key', 'key-initech').expect(200);
    expect(await billed()).toEqual({ [`${ACME}/api_calls`]: 2, [`${INITECH}/api_calls`]: 1 });
  });

  it('counts nothing for 4xx and 5xx responses', async () => {
    const { app, metering, billed } = setup();
    app.get('/bad', metering.meter('api_calls'), (_req, res) => {
      res.status(400).json({ error: 'city is required' });
    });
    app.get('/broken', metering.meter('api_calls'), (_req, res) => {
      res.status(503).end();
    });
    await request(app).get('/bad').set('x-api-key', 'key-acme').expect(400);
    await request(app).get('/broken').set('x-api-key', 'key-acme').expect(503);
    expect(await billed()).toEqual({});
  });

  it('counts nothing when the handler throws', async () => {
    const { app, metering, billed } = setup();
    app.get('/throws', metering.meter('api_calls'), () => {
      throw new Error('boom');
    });
    await request(app).get('/throws').set('x-api-key', 'key-acme').expect(500);
    expect(await billed()).toEqual({});
  });

  it('follows a custom successStatus, globally and per dimension', async () => {
    const { app, metering, billed } = setup({ successStatus: (status) => status === 200 });
    app.get('/redirect', metering.meter('api_calls'), (_req, res) => {
      res.redirect('/elsewhere');
    });
    app.get(
      '/teapot',
      metering.meter({ dimension: 'reports', successStatus: (status) => status === 418 }),
      (_req, res) => {
        res.status(418).end();
      },
    );
    await request(app).get('/redirect').set('x-api-key', 'key-acme').expect(302);
    await request(app).get('/teapot').set('x-api-key', 'key-acme').expect(418);
    expect(await billed()).toEqual({ [`${ACME}/reports`]: 1 });
  });

  it('counts only when `when` says so', async () => {
    const { app, metering, billed } = setup();
    app.get(
      '/maybe',
      metering.meter({ dimension: 'api_calls', when: (req) => req.query.billable === 'yes' }),
      (_req, res) => {
        res.end('ok');
      },
    );
    await request(app).get('/maybe?billable=no').set('x-api-key', 'key-acme').expect(200);
    await request(app).get('/maybe?billable=yes').set('x-api-key', 'key-acme').expect(200);
    expect(await billed()).toEqual({ [`${ACME}/api_calls`]: 1 });
  });

  it('takes the quantity from a function of the finished request and response', async () => {
    const { app, metering, billed } = setup();
    app.get(
      '/items',
      metering.meter({ dimension: 'api_calls', quantity: (_req, res) => Number(res.get('x-items')) }),
      (_req, res) => {
        res.set('x-items', '7').end();
      },
    );
    await request(app).get('/items').set('x-api-key', 'key-acme').expect(200);
    expect(await billed()).toEqual({ [`${ACME}/api_calls`]: 7 });
  });

  it('counts several dimensions on one route', async () => {
    const { app, metering, billed } = setup();
    app.post(
      '/reports',
      metering.meter(['api_calls', { dimension: 'reports', quantity: 2 }]),
      (_req, res) => {
        res.status(201).end();
      },
    );
    await request(app).post('/reports').set('x-api-key', 'key-acme').expect(201);
    expect(await billed()).toEqual({ [`${ACME}/api_calls`]: 1, [`${ACME}/reports`]: 2 });
  });

  it('meters every route under a router-level meter', async () => {
    const { app, metering, billed } = setup();
    const v1 = express.Router();
    v1.get('/a', (_req, res) => {
      res.end('a');
    });
    v1.get('/b', (_req, res) => {
      res.end('b');
    });
    app.use('/v1', metering.meter('api_calls'), v1);
    app.get('/health', (_req, res) => {
      res.end('ok');
    });
    await request(app).get('/v1/a').set('x-api-key', 'key-acme').expect(200);
    await request(app).get('/v1/b').set('x-api-key', 'key-acme').expect(200);
    await request(app).get('/health').set('x-api-key', 'key-acme').expect(200);
    expect(await billed()).toEqual({ [`${ACME}/api_calls`]: 2 });
  });

  it('counts a dimension once when a router-level and a route-level meter both name it; the route decides', async () => {
    const { app, metering, billed } = setup();
    const v1 = express.Router();
    v1.get('/bulk', metering.meter({ dimension: 'api_calls', quantity: 5 }), (_req, res) => {
      res.end('bulk');
    });
    app.use('/v1', metering.meter('api_calls', 'reports'), v1);
    await request(app).get('/v1/bulk').set('x-api-key', 'key-acme').expect(200);
    expect(await billed()).toEqual({ [`${ACME}/api_calls`]: 5, [`${ACME}/reports`]: 1 });
  });

  it('resolves the customer with an async resolver', async () => {
    const { app, metering, billed } = setup({ customer: async (req: AuthenticatedRequest) => req.customer });
    app.get('/things', metering.meter('api_calls'), (_req, res) => {
      res.end('ok');
    });
    await request(app).get('/things').set('x-api-key', 'key-initech').expect(200);
    expect(await billed()).toEqual({ [`${INITECH}/api_calls`]: 1 });
  });

  it('hands a failing resolver to the error handler and counts nothing', async () => {
    const { app, metering, billed } = setup({
      customer: () => {
        throw new Error('accounts database down');
      },
    });
    let handlerRan = false;
    app.get('/things', metering.meter('api_calls'), (_req, res) => {
      handlerRan = true;
      res.end('ok');
    });
    await request(app).get('/things').set('x-api-key', 'key-acme').expect(500);
    expect(handlerRan).toBe(false);
    expect(await billed()).toEqual({});
  });

  it('serves a request without a customer, bills nothing and reports it (skip)', async () => {
    const { app, metering, billed } = setup();
    const rejected: MeteringEvents['usage.rejected'][] = [];
    metering.engine.events.on('usage.rejected', (event) => rejected.push(event));
    app.get('/things', metering.meter('api_calls'), (_req, res) => {
      res.end('ok');
    });
    await request(app).get('/things').set('x-api-key', 'unknown').expect(200);
    expect(rejected.map((e) => [e.reason, e.dimension, e.quantity])).toEqual([
      ['missing-customer', 'api_calls', 1],
    ]);
    expect(metering.counters.servedWithoutCustomer).toBe(1);
    expect(await billed()).toEqual({});
  });

  it.each([401, 403] as const)('answers %i before the handler when there is no customer', async (status) => {
    const { app, metering } = setup({ onMissingCustomer: status });
    let handlerRan = false;
    app.get('/things', metering.meter('api_calls'), (_req, res) => {
      handlerRan = true;
      res.end('ok');
    });
    await request(app).get('/things').expect(status);
    expect(handlerRan).toBe(false);
    expect(metering.counters.refusedWithoutCustomer).toBe(1);
    await metering.shutdown();
  });

  it('answers 503 before the handler when the tally is full under onMaxLiveKeys: reject', async () => {
    const { app, metering, billed } = setup({ maxLiveKeys: 1, onMaxLiveKeys: 'reject' });
    app.get('/things', metering.meter('api_calls'), (_req, res) => {
      res.end('ok');
    });
    await request(app).get('/things').set('x-api-key', 'key-acme').expect(200);
    const refused = await request(app).get('/things').set('x-api-key', 'key-initech').expect(503);
    expect(refused.headers['retry-after']).toBe('1');
    await request(app).get('/things').set('x-api-key', 'key-acme').expect(200);
    expect(metering.counters.refusedAtCapacity).toBe(1);
    expect(await billed()).toEqual({ [`${ACME}/api_calls`]: 2 });
  });

  it('counts nothing for a quantity callback that throws, and still serves the response', async () => {
    const { app, metering, billed } = setup();
    app.get(
      '/things',
      metering.meter({
        dimension: 'api_calls',
        quantity: () => {
          throw new Error('bad quantity');
        },
      }),
      (_req, res) => {
        res.end('ok');
      },
    );
    await request(app).get('/things').set('x-api-key', 'key-acme').expect(200);
    expect(metering.counters.callbackErrors).toBe(1);
    expect(await billed()).toEqual({});
  });

  it('counts a response that Express did not build, e.g. under a plain Node server', async () => {
    const { metering, billed } = setup({ customer: () => ({ customerIdentifier: INITECH }) });
    const middleware = metering.meter('api_calls');
    const server = createServer((req, res) => {
      middleware(req as never, res as never, () => res.end('ok'));
    });
    await request(server).get('/anything').expect(200);
    expect(await billed()).toEqual({ [`${INITECH}/api_calls`]: 1 });
  });

  it('counts a response another adapter already watches, and leaves that watcher in place', async () => {
    const { metering, billed } = setup({ customer: () => ({ customerIdentifier: INITECH }) });
    const middleware = metering.meter('api_calls');
    const told: number[] = [];
    const server = createServer((req, res) => {
      watchFinish(res, { finished: (status) => told.push(status) });
      middleware(req as never, res as never, () => res.end('ok'));
    });
    await request(server).get('/anything').expect(200);
    expect(told).toEqual([200]);
    expect(await billed()).toEqual({ [`${INITECH}/api_calls`]: 1 });
  });

  it('calls next() synchronously when the resolver is synchronous (no promise on the request path)', async () => {
    const { metering } = setup({ customer: () => ({ customerIdentifier: INITECH }) });
    const middleware = metering.meter('api_calls');
    const server = createServer((req, res) => {
      let nextCalled = false;
      middleware(req as never, res as never, () => {
        nextCalled = true;
      });
      res.end(String(nextCalled));
    });
    const response = await request(server).get('/');
    expect(response.text).toBe('true');
    await metering.shutdown();
  });

  it('counts usage recorded outside a request', async () => {
    const { metering, billed } = setup();
    expect(metering.record({ customerIdentifier: INITECH }, 'reports', 3)).toBe(true);
    expect(await billed()).toEqual({ [`${INITECH}/reports`]: 3 });
  });
});

describe('meter() declaration', () => {
  it('refuses an undeclared dimension where the route is declared', async () => {
    const { metering } = setup();
    const error = configurationErrorOf(() => metering.meter('api_call'));
    expect([error.code, error.field]).toEqual(['ERR_METERING_UNDECLARED_DIMENSION', "meter('api_call')"]);
    await metering.shutdown();
  });

  it('refuses an invalid dimension name', async () => {
    const { metering } = setup({ dimensions: undefined });
    expect(configurationErrorOf(() => metering.meter('')).code).toBe('ERR_METERING_INVALID_DIMENSION');
    await metering.shutdown();
  });

  it('refuses an inherited key such as `constructor` in a meter spec', () => {
    const { metering } = setup();
    expect(
      configurationErrorOf(() => metering.meter({ dimension: 'api_calls', constructor: 1 } as never)).code,
    ).toBe('ERR_METERING_UNKNOWN_OPTION');
  });

  it('refuses a dimension listed twice, an unknown spec key and a negative quantity', async () => {
    const { metering } = setup();
    expect(configurationErrorOf(() => metering.meter(['api_calls', 'api_calls'])).field).toBe(
      "meter('api_calls')",
    );
    expect(
      configurationErrorOf(() => metering.meter({ dimension: 'api_calls', quanity: 2 } as never)).code,
    ).toBe('ERR_METERING_UNKNOWN_OPTION');
    expect(configurationErrorOf(() => metering.meter({ dimension: 'api_calls', quantity: -1 })).field).toBe(
      "meter('api_calls').quantity",
    );
    expect(configurationErrorOf(() => metering.meter()).code).toBe('ERR_METERING_INVALID_OPTION');
    expect(
      configurationErrorOf(() => metering.meter({ dimension: 'api_calls', tags: { project: 'a' } } as never))
        .field,
    ).toBe("meter('api_calls').tags");
    await metering.shutdown();
  });
});
