import type { MeteringEvents } from '@meterkit/core';
import { configurationErrorOf } from '@meterkit/core/testing';
import { subscriptionPolicy } from '@meterkit/express';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { type AuthenticatedRequest, acme, initech, setup } from './helpers/setup.js';

const ACME = '111122223333';

describe('subscriptionPolicy()', () => {
  it('answers 403 by default to a customer AWS said is unsubscribed, and serves the others', async () => {
    const { app, metering } = setup();
    const customer = (req: AuthenticatedRequest) => req.customer;
    app.get(
      '/things',
      subscriptionPolicy({ engine: metering.engine, customer }),
      metering.meter('api_calls'),
      (_req, res) => {
        res.json({ ok: true });
      },
    );
    await metering.engine.applySubscriptionChange(acme, 'unsubscribed');
    const refused = await request(app).get('/things').set('x-api-key', 'key-acme').expect(403);
    expect(refused.body).toEqual({ error: 'subscription ended', state: 'unsubscribed' });
    await request(app).get('/things').set('x-api-key', 'key-initech').expect(200);
  });

  it("serves with 'serve' and bills nothing, reporting usage.rejected with reason unsubscribed", async () => {
    const { app, metering, billed } = setup();
    const reasons: string[] = [];
    metering.engine.events.on('usage.rejected', (e: MeteringEvents['usage.rejected']) =>
      reasons.push(e.reason),
    );
    const customer = (req: AuthenticatedRequest) => req.customer;
    app.get(
      '/things',
      subscriptionPolicy({ engine: metering.engine, customer, ended: 'serve' }),
      metering.meter('api_calls'),
      (_req, res) => {
        res.json({ ok: true });
      },
    );
    await metering.engine.applySubscriptionChange(acme, 'unsubscribed');
    await request(app).get('/things').set('x-api-key', 'key-acme').expect(200);
    await request(app).get('/things').set('x-api-key', 'key-initech').expect(200);
    expect(reasons).toEqual(['unsubscribed']);
    expect(await billed()).toEqual({ 'cust-initech-0001/api_calls': 1 });
    expect(await billed()).not.toHaveProperty(`${ACME}/api_calls`);
  });

  it('answers 402 to a customer whose subscription failed, with an async resolver', async () => {
    const { app, metering } = setup();
    app.get(
      '/things',
      subscriptionPolicy({
        engine: metering.engine,
        customer: async (req: AuthenticatedRequest) => req.customer,
        ended: 402,
      }),
      (_req, res) => {
        res.json({ ok: true });
      },
    );
    await metering.engine.applySubscriptionChange(initech, 'subscribe-failed');
    await request(app).get('/things').set('x-api-key', 'key-initech').expect(402);
  });

  it('refuses an unknown policy at start-up, naming the field', () => {
    const { metering } = setup();
    const error = configurationErrorOf(() =>
      subscriptionPolicy({ engine: metering.engine, customer: () => undefined, ended: 410 as never }),
    );
    expect(error.field).toBe('ended');
  });
});
