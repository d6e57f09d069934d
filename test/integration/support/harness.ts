/** Integration harness: the engine sending through the real SDK to the emulator, on a manual clock. */
import { MarketplaceMeteringSink } from '@meterkit/aws-marketplace';
import {
  type CustomerRef,
  createMeteringEngine,
  type FlushReport,
  HOUR_MILLIS,
  type MeteringEngine,
  type MeteringEventName,
  type MeteringEvents,
  type MeteringOptions,
  silentLogger,
} from '@meterkit/core';
import { keyIdOf } from '@meterkit/core/store';
import { ManualClock, seededRandom } from '@meterkit/core/testing';
import { type Emulator, type EmulatorOptions, startEmulator } from '@meterkit/emulator';
import { InFlightSink } from './in-flight-sink.js';

/** The product of the Concurrent Agreements buyers. */
export const PRODUCT = 'prod-it0001';
/** The product of the legacy buyers (a product mixing both kinds is tested on its own). */
export const LEGACY_PRODUCT = 'prod-it0002';
export const CREDENTIALS = { accessKeyId: 'AKIDINTEGRATION', secretAccessKey: 'integration-secret' };
/** 2026-11-26T10:00:00Z: mid-month, so the month-end rule stays out of the way. */
export const START = Date.UTC(2026, 10, 26, 10);
/** Simulated time the clock moves per step while no call is on the wire. */
const STEP_MILLIS = 50;

export function licenseCustomer(n: number): CustomerRef {
  const account = String(100_000_000_000 + n);
  return {
    awsAccountId: account,
    licenseArn: `arn:aws:license-manager::${account}:license:l-${n.toString(16).padStart(32, '0')}`,
    productCode: PRODUCT,
  };
}

export function legacyCustomer(n: number, productCode = LEGACY_PRODUCT): CustomerRef {
  return { customerIdentifier: `cust-${n.toString().padStart(6, '0')}`, productCode };
}

export interface HarnessOptions {
  emulator?: EmulatorOptions;
  engine?: Partial<MeteringOptions>;
}

/**
 * The real stack on one manual clock: engine (external scheduling) → MarketplaceMeteringSink → SDK client over
 * loopback HTTP → emulator, whose clock is the test's clock.
 */
export async function startHarness(options: HarnessOptions = {}) {
  const clock = new ManualClock(START);
  const emulator: Emulator = await startEmulator({ port: 0, now: () => clock.now(), ...options.emulator });
  const sink = new InFlightSink(
    new MarketplaceMeteringSink({
      clientConfig: { endpoint: emulator.endpoint, region: 'us-east-1', credentials: CREDENTIALS },
      logger: silentLogger,
    }),
  );
  const engine: MeteringEngine = createMeteringEngine({
    sink,
    clock,
    timers: clock,
    scheduling: 'external',
    logger: silentLogger,
    // The default product; every customer here carries its own.
    productCode: PRODUCT,
    random: seededRandom(7),
    retryBaseMillis: 100,
    retryMaxMillis: 2_000,
    failedRetryMillis: 1_000,
    ...options.engine,
  });
  await engine.start();

  /** Units recorded per key id. */
  const recorded = new Map<string, number>();
  const seen = new Map<MeteringEventName, unknown[]>();
  for (const name of ['record.dead-lettered', 'record.carried-forward', 'record.accepted'] as const) {
    seen.set(name, []);
    engine.events.on(name, (payload) => seen.get(name)?.push(payload));
  }

  /**
   * Moves simulated time until `promise` settles. Time stands still while a call is on the wire, so timeouts on the
   * manual clock never cut real I/O short; otherwise it moves in small steps, firing rate-limit and backoff timers.
   */
  async function drive<T>(
    promise: Promise<T>,
    { holdWhileInFlight = true, maxSteps = 20_000 }: { holdWhileInFlight?: boolean; maxSteps?: number } = {},
  ): Promise<T> {
    let settled = false;
    const tracked = promise.finally(() => {
      settled = true;
    });
    tracked.catch(() => undefined);
    for (let step = 0; !settled; step++) {
      if (step > maxSteps) throw new Error(`drive: not settled after ${maxSteps} steps`);
      if (holdWhileInFlight && sink.inFlight > 0) await new Promise((resolve) => setTimeout(resolve, 1));
      else await clock.advance(STEP_MILLIS);
    }
    return tracked;
  }

  return {
    clock,
    emulator,
    engine,
    sink,
    recorded,
    drive,
    /** Counts usage and remembers what was counted. */
    record(customer: CustomerRef, dimension: string, quantity: number): void {
      if (!engine.record(customer, dimension, quantity)) throw new Error('record() counted nothing');
      const keyId = keyIdOf({
        productCode: customer.productCode ?? PRODUCT,
        dimension,
        ...(customer.licenseArn !== undefined
          ? { awsAccountId: customer.awsAccountId, licenseArn: customer.licenseArn }
          : { customerIdentifier: customer.customerIdentifier }),
      });
      recorded.set(keyId, (recorded.get(keyId) ?? 0) + quantity);
    },
    /** Moves to `sealDelay` past the next hour boundary, so the current hour is closed. */
    async closeHour(): Promise<void> {
      const nextHour = Math.floor(clock.now() / HOUR_MILLIS) * HOUR_MILLIS + HOUR_MILLIS;
      await clock.advanceTo(nextHour + engine.options.sealDelayMillis);
    },
    /** Flushes until nothing is pending (retries included), or `rounds` flushes have run. */
    async flushAll(rounds = 200): Promise<FlushReport> {
      let report = await drive(engine.forceFlush({ timeoutMillis: 60_000 }));
      for (let round = 1; report.pending > 0 && round < rounds; round++) {
        await drive(new Promise((resolve) => clock.setTimeout(() => resolve(undefined), 250)));
        report = await drive(engine.forceFlush({ timeoutMillis: 60_000 }));
      }
      return report;
    },
    events<K extends MeteringEventName>(name: K): MeteringEvents[K][] {
      return (seen.get(name) ?? []) as MeteringEvents[K][];
    },
    /** Billed units per key id, from the emulator's ledger. */
    billedByKey(): Map<string, number> {
      const totals = new Map<string, number>();
      for (const r of emulator.ledger.records()) {
        const keyId = keyIdOf({
          productCode: r.productCode ?? PRODUCT,
          dimension: r.dimension,
          ...(r.licenseArn !== undefined
            ? { awsAccountId: r.customerAWSAccountId, licenseArn: r.licenseArn }
            : { customerIdentifier: r.customerIdentifier }),
        });
        totals.set(keyId, (totals.get(keyId) ?? 0) + r.quantity);
      }
      return totals;
    },
    async stop(): Promise<void> {
      await drive(engine.shutdown({ timeoutMillis: 5_000 })).catch(() => undefined);
      await emulator.close();
    },
  };
}

export type Harness = Awaited<ReturnType<typeof startHarness>>;

/** Records `units` spread over `customers` license and `customers` legacy buyers and two dimensions. */
export function recordMixedUsage(h: Harness, customers: number, salt = 0): void {
  for (let n = 0; n < customers; n++) {
    h.record(licenseCustomer(n), 'requests', 1 + ((n * 7 + salt) % 13));
    h.record(licenseCustomer(n), 'storage', 1 + ((n * 3 + salt) % 5));
    h.record(legacyCustomer(n), 'requests', 2 + ((n * 5 + salt) % 11));
  }
}
