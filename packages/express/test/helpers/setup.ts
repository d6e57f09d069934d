/** Shared fixtures of the Express adapter tests: customers by API key and an app metered on a manual clock. */
import { type CustomerRef, silentLogger } from '@meterkit/core';
import { InMemorySink, ManualClock } from '@meterkit/core/testing';
import express, { type Request } from 'express';
import { createMetering, type ExpressMeteringOptions } from '../../src/index.js';

export const PRODUCT = 'prod-meterkit-test';
export const acme: CustomerRef = {
  awsAccountId: '111122223333',
  licenseArn: 'arn:aws:license-manager::111122223333:license:l-acme00000000000001',
};
export const initech: CustomerRef = { customerIdentifier: 'cust-initech-0001' };

/** Customers by the API key a test request sends; the test app "authenticates" with it before metering. */
export const customersByKey: Record<string, CustomerRef> = { 'key-acme': acme, 'key-initech': initech };

/** A request after the test authentication ran. */
export type AuthenticatedRequest = Request & { customer?: CustomerRef };

/** Test authentication: attaches the customer of a known key, and nothing for others. */
export function authenticate(req: AuthenticatedRequest, _res: unknown, next: () => void): void {
  const key = req.get('x-api-key');
  if (key !== undefined) req.customer = customersByKey[key];
  next();
}

/**
 * An Express 5 app with metering on a manual clock and an in-memory sink. `billed()` shuts metering down (which seals
 * and sends the open hour with the memory store) and returns what the sink billed, as `customer/dimension → quantity`.
 */
export function setup(options: Partial<ExpressMeteringOptions> = {}) {
  const clock = new ManualClock();
  const sink = new InMemorySink({ clock });
  const metering = createMetering({
    sink,
    clock,
    timers: clock,
    logger: silentLogger,
    random: () => 0.5,
    productCode: PRODUCT,
    dimensions: ['api_calls', 'reports', 'export_kb', 'egress_bytes'],
    customer: (req: AuthenticatedRequest) => req.customer,
    // Explicit: the adapter's default is a SQLite file in the working directory.
    store: 'memory',
    ...options,
  });
  const app = express();
  app.use(authenticate);
  async function billed(): Promise<Record<string, number>> {
    await metering.shutdown();
    const totals: Record<string, number> = {};
    for (const { record } of sink.ledger.values()) {
      const who = record.key.awsAccountId ?? record.key.customerIdentifier;
      const key = `${who}/${record.key.dimension}`;
      totals[key] = (totals[key] ?? 0) + record.quantity;
    }
    return totals;
  }
  return { app, clock, sink, metering, billed };
}
