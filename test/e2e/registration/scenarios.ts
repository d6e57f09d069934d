/** The registration scenarios every adapter runs: a real app over HTTP, ResolveCustomer through the SDK to the emulator. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RegistrationEvent, RegistrationRouteOptions } from '@meterkit/aws-marketplace';
import { MemoryRegistry, type MeteringLogger, type RegisteredCustomer } from '@meterkit/core';
import { ManualClock } from '@meterkit/core/testing';
import { type Emulator, startEmulator } from '@meterkit/emulator';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

export const PRODUCT = 'prod-registration-e2e';
const OTHER_PRODUCT = 'prod-someone-else';
const HOUR_10 = Date.UTC(2026, 10, 26, 10);
const TOKEN_FIELD = 'x-amzn-marketplace-token';

/** Starts an app of one adapter with the registration route at `/marketplace/register`; returns its base URL. */
export type MountRegistration = (
  options: RegistrationRouteOptions<IncomingMessage, ServerResponse>,
) => Promise<{ url: string; close: () => Promise<void> }>;

/** A logger that keeps every line, to show no token is ever written. */
function recordingLogger(lines: string[]): MeteringLogger {
  const keep = (message: string, fields?: Record<string, unknown>) =>
    lines.push(`${message} ${JSON.stringify(fields ?? {})}`);
  return { info: keep, warn: keep, error: keep };
}

function post(url: string, body: string, contentType = 'application/x-www-form-urlencoded') {
  return fetch(`${url}/marketplace/register`, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body,
    redirect: 'manual',
  });
}

function form(fields: Record<string, string>): string {
  return new URLSearchParams(fields).toString();
}

export function describeRegistrationScenarios(adapter: string, mount: MountRegistration): void {
  describe(`registration route on ${adapter}`, () => {
    let emulator: Emulator;
    let clock: ManualClock;
    let registry: MemoryRegistry;
    let app: { url: string; close: () => Promise<void> };
    let events: RegistrationEvent[];
    let logs: string[];
    let registered: RegisteredCustomer[];

    beforeEach(async () => {
      clock = new ManualClock(HOUR_10);
      emulator = await startEmulator({
        port: 0,
        now: () => clock.now(),
        products: [
          { productCode: PRODUCT, dimensions: ['api_calls'] },
          { productCode: OTHER_PRODUCT, dimensions: ['api_calls'] },
        ],
      });
      registry = new MemoryRegistry();
      events = [];
      logs = [];
      registered = [];
      app = await mount({
        registry,
        productCodes: PRODUCT,
        clientConfig: {
          endpoint: emulator.endpoint,
          region: 'us-east-1',
          credentials: { accessKeyId: 'AKIDEMULATOR', secretAccessKey: 'emulator-secret' },
          maxAttempts: 1,
        },
        clock,
        logger: recordingLogger(logs),
        onEvent: (event) => events.push(event),
        onRegistered: async (customer, _req, res) => {
          registered.push(customer);
          res.writeHead(303, { location: `/welcome?state=${customer.state}` }).end();
        },
      });
    });

    afterEach(async () => {
      await app.close();
      await emulator.close();
    });

    /** Every token issued in the test is absent from every event and log line. */
    function expectNoTokenLeaked(): void {
      const written = JSON.stringify(events) + logs.join('\n');
      for (const { token } of emulator.control.tokens()) expect(written).not.toContain(token);
    }

    it('resolves a Concurrent Agreements token, stores the buyer and hands over to onRegistered', async () => {
      // Prepare
      const token = emulator.control.issueToken({ productCode: PRODUCT });
      // Act
      const response = await post(app.url, form({ [TOKEN_FIELD]: token.token }));
      // Assess
      expect(response.status).toBe(303);
      expect(response.headers.get('location')).toBe('/welcome?state=registered');
      const stored = await registry.list();
      expect(stored.map((e) => e.customer)).toEqual([
        { awsAccountId: token.customerAWSAccountId, licenseArn: token.licenseArn, productCode: PRODUCT },
      ]);
      expect(stored[0]?.freeTrial).toBe(false);
      expect(registered).toEqual(stored);
      expect(events.map((e) => e.type)).toEqual(['registration.succeeded']);
      expectNoTokenLeaked();
    });

    it('stores a legacy buyer by customer identifier', async () => {
      const token = emulator.control.issueToken({
        productCode: PRODUCT,
        customerIdentifier: 'cust-legacy-0001',
      });
      const response = await post(app.url, form({ [TOKEN_FIELD]: token.token }));
      expect(response.status).toBe(303);
      expect((await registry.list()).map((e) => e.customer)).toEqual([
        { customerIdentifier: 'cust-legacy-0001', productCode: PRODUCT },
      ]);
    });

    it('records a free-trial offer', async () => {
      const token = emulator.control.issueToken({ productCode: PRODUCT });
      await post(
        app.url,
        form({ [TOKEN_FIELD]: token.token, 'x-amzn-marketplace-offer-type': 'free-trial' }),
      );
      expect((await registry.list()).map((e) => e.freeTrial)).toEqual([true]);
    });

    it('gives the same customer for the same token twice', async () => {
      const token = emulator.control.issueToken({ productCode: PRODUCT });
      await post(app.url, form({ [TOKEN_FIELD]: token.token }));
      await clock.advance(60_000);
      const again = await post(app.url, form({ [TOKEN_FIELD]: token.token }));
      expect(again.status).toBe(303);
      expect(registered).toHaveLength(2);
      expect(registered[1]).toEqual(registered[0]);
      expect(await registry.list()).toHaveLength(1);
      expect(emulator.control.tokens()[0]?.resolveCount).toBe(2);
    });

    it('answers 400 with a page asking for a fresh link when the token has expired', async () => {
      // Prepare
      const token = emulator.control.issueToken({ productCode: PRODUCT });
      await clock.advance(5 * 3_600_000);
      // Act
      const response = await post(app.url, form({ [TOKEN_FIELD]: token.token }));
      // Assess
      expect(response.status).toBe(400);
      expect(response.headers.get('content-type')).toMatch(/^text\/html/);
      expect(await response.text()).toContain('Set up your account');
      expect(events).toMatchObject([{ type: 'registration.failed', reason: 'token-expired', status: 400 }]);
      expect(await registry.list()).toEqual([]);
      expectNoTokenLeaked();
    });

    it('answers 400 for a token AWS does not know', async () => {
      const response = await post(app.url, form({ [TOKEN_FIELD]: 'tok-never-issued-0123456789' }));
      expect(response.status).toBe(400);
      expect(events).toMatchObject([{ type: 'registration.failed', reason: 'token-invalid' }]);
      expect(JSON.stringify(events) + logs.join('\n')).not.toContain('tok-never-issued-0123456789');
    });

    it('answers 400 for a form without a token', async () => {
      const response = await post(app.url, form({ other: 'field' }));
      expect(response.status).toBe(400);
      expect(events).toMatchObject([{ type: 'registration.failed', reason: 'token-missing' }]);
    });

    it('answers 503 with Retry-After when ResolveCustomer is throttled, and the same token works afterwards', async () => {
      // Prepare
      const token = emulator.control.issueToken({ productCode: PRODUCT });
      emulator.control.scheduleFaults({ fault: 'throttle', operation: 'ResolveCustomer', count: 1 });
      // Act
      const throttled = await post(app.url, form({ [TOKEN_FIELD]: token.token }));
      const retried = await post(app.url, form({ [TOKEN_FIELD]: token.token }));
      // Assess
      expect(throttled.status).toBe(503);
      expect(throttled.headers.get('retry-after')).toBe('30');
      expect(retried.status).toBe(303);
      expect(events.map((e) => (e.type === 'registration.failed' ? e.reason : e.type))).toEqual([
        'aws-unavailable',
        'registration.succeeded',
      ]);
      expectNoTokenLeaked();
    });

    it('answers 503 when AWS fails with an internal error', async () => {
      const token = emulator.control.issueToken({ productCode: PRODUCT });
      emulator.control.scheduleFaults({ fault: 'internal-error', operation: 'ResolveCustomer', count: 1 });
      const response = await post(app.url, form({ [TOKEN_FIELD]: token.token }));
      expect(response.status).toBe(503);
      expect(events).toMatchObject([
        { reason: 'aws-unavailable', awsErrorName: 'InternalServiceErrorException' },
      ]);
    });

    it("refuses another product's token with 403 and stores nothing", async () => {
      const token = emulator.control.issueToken({ productCode: OTHER_PRODUCT });
      const response = await post(app.url, form({ [TOKEN_FIELD]: token.token }));
      expect(response.status).toBe(403);
      expect(events).toMatchObject([{ type: 'registration.failed', reason: 'foreign-product' }]);
      expect(await registry.list()).toEqual([]);
    });

    it('refuses a body larger than the bound with 413', async () => {
      const response = await post(app.url, form({ [TOKEN_FIELD]: 'x', padding: 'p'.repeat(200_000) }));
      expect(response.status).toBe(413);
      expect(await registry.list()).toEqual([]);
    });
  });
}
