import type { MeteringHealthReport } from '@meterkit/core/ops';
import { meteringAdmin, meteringHealth } from '@meterkit/express';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { acme, HOUR_10, HOUR_MILLIS, initech, PRODUCT, startStack } from './fixture.js';

type Stack = Awaited<ReturnType<typeof startStack>>;
let stack: Stack | undefined;
afterEach(async () => {
  if (stack !== undefined) {
    // End any outage, then let the final drain's retries run on the manual clock before the fixture stops.
    stack.emulator.control.reset();
    let done = false;
    const drained = stack.metering.shutdown({ timeoutMillis: 10 * MINUTE }).finally(() => {
      done = true;
    });
    while (!done) {
      await stack.clock.advance(1_000);
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await drained;
  }
  await stack?.stop();
  stack = undefined;
});

const MINUTE = 60_000;
const TOKEN = 'operator-token-0123456789abcdef';

/** A real Express app with the health and admin routes, over HTTP, on the stack's manual clock. */
async function start(healthOptions: Parameters<typeof meteringHealth>[1] = {}) {
  stack = await startStack({ scheduling: 'external' });
  const s = stack;
  const app = express();
  app.get('/health/metering', meteringHealth(s.metering, healthOptions));
  app.use('/_meterkit', meteringAdmin(s.metering, { token: TOKEN }));
  const { url } = await s.listen(app);
  return {
    s,
    url,
    async health(): Promise<{ status: number; body: MeteringHealthReport }> {
      const response = await fetch(`${url}/health/metering`);
      return { status: response.status, body: (await response.json()) as MeteringHealthReport };
    },
    /** Moves the clock to `at`, then runs one flush (at most one call here: one record, backoff in between). */
    async flushAt(at: number) {
      await s.clock.advanceTo(at);
      return s.metering.flush({ timeoutMillis: MINUTE });
    },
    /** Sends initech's 10:00 record (2 api_calls) while initech is not subscribed: one dead letter. */
    async deadLetterInitech() {
      s.emulator.control.putCustomer({
        productCode: PRODUCT,
        customerIdentifier: initech.customerIdentifier,
        state: 'unsubscribed',
      });
      s.metering.record(initech, 'api_calls', 2);
      await this.flushAt(HOUR_10 + HOUR_MILLIS + 3 * MINUTE);
    },
  };
}

describe('meteringHealth (Express)', () => {
  it('turns 503 when the sink has failed for longer than the bound, and 200 once it answers again', async () => {
    // Prepare: the next three calls fail with a 500.
    const t = await start({ maxSinkFailureMillis: 15 * MINUTE });
    t.s.emulator.control.scheduleFaults({ fault: 'internal-error', operation: 'BatchMeterUsage', count: 3 });
    t.s.metering.record(acme, 'api_calls', 5);
    // Act + Assess
    await t.flushAt(HOUR_10 + HOUR_MILLIS + 3 * MINUTE);
    expect((await t.health()).status).toBe(200);
    await t.flushAt(HOUR_10 + HOUR_MILLIS + 10 * MINUTE);
    await t.flushAt(HOUR_10 + HOUR_MILLIS + 20 * MINUTE);
    const down = await t.health();
    expect(down.status).toBe(503);
    expect(down.body.checks.sink).toMatchObject({
      healthy: false,
      failedCalls: 3,
      failingForMillis: 17 * MINUTE,
    });
    expect(down.body.checks.oldestPending.healthy).toBe(true);
    await t.flushAt(HOUR_10 + HOUR_MILLIS + 30 * MINUTE);
    const up = await t.health();
    expect(up.status).toBe(200);
    expect(up.body.checks.sink).toMatchObject({ healthy: true, lastCall: { outcome: 'answered' } });
    expect(t.s.emulator.ledger.totalQuantity()).toBe(5);
  });

  it('turns 503 when the oldest pending record nears the end of the service window', async () => {
    const t = await start({ minWindowLeftMillis: 6 * HOUR_MILLIS, maxSinkFailureMillis: 48 * HOUR_MILLIS });
    t.s.emulator.control.scheduleFaults({
      fault: 'internal-error',
      operation: 'BatchMeterUsage',
      count: 100,
    });
    t.s.metering.record(acme, 'api_calls', 5);
    await t.flushAt(HOUR_10 + HOUR_MILLIS + 3 * MINUTE);
    expect((await t.health()).status).toBe(200);
    await t.flushAt(HOUR_10 + 19 * HOUR_MILLIS);
    const down = await t.health();
    expect(down.status).toBe(503);
    expect(down.body.checks.oldestPending).toMatchObject({
      healthy: false,
      hour: '2026-11-26T10:00Z',
      windowLeftMillis: 5 * HOUR_MILLIS,
    });
    expect(down.body.checks.sink.healthy).toBe(true);
  });

  it('turns 503 when dead letters exceed the bound, naming the count', async () => {
    const t = await start({ maxDeadLetters: 0 });
    await t.deadLetterInitech();
    const down = await t.health();
    expect(down.status).toBe(503);
    expect(down.body.checks.deadLetters).toMatchObject({ healthy: false, count: 1, max: 0 });
    expect(JSON.stringify(down.body)).not.toContain(initech.customerIdentifier);
  });
});

describe('meteringAdmin (Express)', () => {
  it('refuses a request without the token', async () => {
    const t = await start();
    const response = await fetch(`${t.url}/_meterkit/status`, { headers: { authorization: 'Bearer wrong' } });
    expect(response.status).toBe(401);
  });

  it('lists a dead letter and requeues it once the customer subscribed again, billing it once', async () => {
    // Prepare: initech is not subscribed when its 10:00 record is sent.
    const t = await start();
    const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
    await t.deadLetterInitech();
    const letters = (await (await fetch(`${t.url}/_meterkit/dead-letters`, { headers })).json()) as {
      Reason: string;
      Quantity: number;
    }[];
    expect(letters).toMatchObject([{ Reason: 'customer-not-subscribed', Quantity: 2 }]);
    t.s.emulator.control.putCustomer({
      productCode: PRODUCT,
      customerIdentifier: initech.customerIdentifier,
      state: 'subscribed',
    });
    // Act: requeue twice; the second finds nothing left to move.
    const requeue = () =>
      fetch(`${t.url}/_meterkit/dead-letters/requeue`, { method: 'POST', headers, body: '{}' }).then(
        (r) => r.json() as Promise<{ moved: number }>,
      );
    expect((await requeue()).moved).toBe(1);
    expect((await requeue()).moved).toBe(0);
    await fetch(`${t.url}/_meterkit/flush`, { method: 'POST', headers });
    // Assess
    expect(t.s.billed()).toEqual({ [`${initech.customerIdentifier}/api_calls@10:00`]: 2 });
    const status = (await (await fetch(`${t.url}/_meterkit/status`, { headers })).json()) as {
      deadLetters: { total: number };
      sink: { lastCall: { outcome: string } };
    };
    expect(status.deadLetters.total).toBe(0);
    expect(status.sink.lastCall.outcome).toBe('answered');
  });
});
