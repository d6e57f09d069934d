import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MarketplaceMeteringSink } from '@meterkit/aws-marketplace';
import { CachedCustomerRegistry, customerFromAccount, MemoryRegistry, silentLogger } from '@meterkit/core';
import { ManualClock } from '@meterkit/core/testing';
import { startEmulator } from '@meterkit/emulator';
import { createMetering, registrationRouter } from '@meterkit/express';
import express from 'express';
import { describe, expect, it } from 'vitest';

const PRODUCT = 'prod-account-lookup';
const HOUR_10 = Date.UTC(2026, 10, 26, 10);
const clientConfig = (endpoint: string) => ({
  endpoint,
  region: 'us-east-1',
  credentials: { accessKeyId: 'AKIDEMULATOR', secretAccessKey: 'emulator-secret' },
  maxAttempts: 1,
});

describe('Express: register, link the app account, then bill that account through the registry', () => {
  it('bills the usage of an app account to the Marketplace customer it was linked to at registration', async () => {
    // Prepare
    const clock = new ManualClock(HOUR_10);
    const emulator = await startEmulator({
      port: 0,
      now: () => clock.now(),
      products: [{ productCode: PRODUCT, dimensions: ['api_calls'] }],
    });
    const registry = new CachedCustomerRegistry(new MemoryRegistry(), { clock, timers: clock });
    await registry.open();
    const metering = createMetering({
      sink: new MarketplaceMeteringSink({
        logger: silentLogger,
        clientConfig: clientConfig(emulator.endpoint),
      }),
      clock,
      timers: clock,
      logger: silentLogger,
      productCode: PRODUCT,
      dimensions: ['api_calls'],
      // Explicit: the adapter's default is a SQLite file in the working directory.
      store: 'memory',
      registry,
      // The app's authentication would set the account; here a header stands in for it.
      customer: customerFromAccount(registry, (req: express.Request) => req.get('x-test-account')),
    });
    await metering.start();
    const app = express();
    const router = registrationRouter({
      registry,
      productCodes: PRODUCT,
      clientConfig: clientConfig(emulator.endpoint),
      logger: silentLogger,
      clock,
      onRegistered: async (customer, req, res) => {
        await registry.link(customer.customer, String(req.query.account));
        res.redirect(303, '/welcome');
      },
    });
    app.use(router);
    app.get('/api', metering.meter('api_calls'), (_req, res) => {
      res.json({ ok: true });
    });
    const server = app.listen(0, '127.0.0.1') as Server;
    await new Promise((resolve) => server.once('listening', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const token = emulator.control.issueToken({ productCode: PRODUCT });
    try {
      // Act
      const registered = await fetch(`${url}/marketplace/register?account=acct-7`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ 'x-amzn-marketplace-token': token.token }),
        redirect: 'manual',
      });
      for (let i = 0; i < 3; i++) await fetch(`${url}/api`, { headers: { 'x-test-account': 'acct-7' } });
      await fetch(`${url}/api`, { headers: { 'x-test-account': 'acct-unknown' } });
      await metering.flush();
      await clock.advance(3_600_000 + 180_000);
      await metering.flush();
      // Assess
      expect(registered.status).toBe(303);
      expect(
        emulator.ledger.records().map((r) => [r.customerAWSAccountId, r.licenseArn, r.dimension, r.quantity]),
      ).toEqual([[token.customerAWSAccountId, token.licenseArn, 'api_calls', 3]]);
    } finally {
      router.close();
      await metering.shutdown();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await registry.close();
      await emulator.close();
    }
  });
});
