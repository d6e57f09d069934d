/** An engine metering this instance through MeterUsageSink into an emulator, on a manual clock. */
import { MeterUsageSink, type MeterUsageSinkOptions } from '@meterkit/aws-marketplace';
import {
  createMeteringEngine,
  type ExportResponse,
  type FlushReport,
  HOUR_MILLIS,
  type MeteringEngine,
  type MeteringOptions,
  silentLogger,
  type UsageRecord,
  type UsageSink,
} from '@meterkit/core';
import { ManualClock, seededRandom } from '@meterkit/core/testing';
import { type Emulator, type EmulatorOptions, startEmulator } from '@meterkit/emulator';

export const PRODUCT = 'prod-container1';
export const DIMENSION = 'vcpu_hours';
export const CREDENTIALS = { accessKeyId: 'AKIDTASK0001', secretAccessKey: 'task-secret' };
/** 2026-11-26T10:00:00Z */
export const START = Date.UTC(2026, 10, 26, 10);

/** The MeterUsage sink with a count of calls on the wire, so the manual clock holds still during real HTTP. */
class WireCounter implements UsageSink {
  inFlight = 0;
  readonly name: string;
  readonly maxBatchSize: number;
  readonly identicalResendIsDuplicate: boolean | undefined;
  readonly implicitCustomer: UsageSink['implicitCustomer'];
  readonly optionDefaults: UsageSink['optionDefaults'];

  constructor(readonly inner: MeterUsageSink) {
    this.name = inner.name;
    this.maxBatchSize = inner.maxBatchSize;
    this.identicalResendIsDuplicate = inner.identicalResendIsDuplicate;
    this.implicitCustomer = inner.implicitCustomer;
    this.optionDefaults = inner.optionDefaults;
  }

  planBatches(records: readonly UsageRecord[]): readonly (readonly UsageRecord[])[] {
    return this.inner.planBatches(records);
  }

  async export(records: readonly UsageRecord[], options: { signal: AbortSignal }): Promise<ExportResponse> {
    this.inFlight += 1;
    try {
      return await this.inner.export(records, options);
    } finally {
      this.inFlight -= 1;
    }
  }
}

/** Engine → MeterUsageSink → SDK over loopback → emulator, all on one manual clock. */
export async function startInstanceHarness(
  options: {
    emulator?: EmulatorOptions;
    engine?: Partial<MeteringOptions>;
    sink?: MeterUsageSinkOptions;
  } = {},
) {
  const clock = new ManualClock(START);
  const emulator: Emulator = await startEmulator({
    port: 0,
    now: () => clock.now(),
    products: [{ productCode: PRODUCT, dimensions: [DIMENSION, 'gb_stored'] }],
    ...options.emulator,
  });
  const meterUsage = new MeterUsageSink({
    clientConfig: { endpoint: emulator.endpoint, region: 'us-east-1', credentials: CREDENTIALS },
    logger: silentLogger,
    now: () => clock.now(),
    ...options.sink,
  });
  const sink = new WireCounter(meterUsage);
  const engine: MeteringEngine = createMeteringEngine({
    sink,
    productCode: PRODUCT,
    clock,
    timers: clock,
    scheduling: 'external',
    logger: silentLogger,
    random: seededRandom(11),
    retryBaseMillis: 100,
    ...options.engine,
  });
  await engine.start();

  async function drive<T>(promise: Promise<T>, maxSteps = 50_000): Promise<T> {
    let settled = false;
    const tracked = promise.finally(() => {
      settled = true;
    });
    tracked.catch(() => undefined);
    for (let step = 0; !settled; step++) {
      if (step > maxSteps) throw new Error(`drive: not settled after ${maxSteps} steps`);
      if (sink.inFlight > 0) await new Promise((resolve) => setTimeout(resolve, 1));
      else await clock.advance(50);
    }
    return tracked;
  }

  return {
    clock,
    emulator,
    engine,
    sink: meterUsage,
    drive,
    async closeHour(): Promise<void> {
      const nextHour = Math.floor(clock.now() / HOUR_MILLIS) * HOUR_MILLIS + HOUR_MILLIS;
      await clock.advanceTo(nextHour + engine.options.sealDelayMillis);
    },
    /** Flushes until nothing is pending, moving simulated time between rounds so backoffs expire. */
    async flushAll(rounds = 400): Promise<FlushReport> {
      let report = await drive(engine.forceFlush({ timeoutMillis: 60_000 }));
      for (let round = 1; report.pending > 0 && round < rounds; round++) {
        await drive(new Promise((resolve) => clock.setTimeout(() => resolve(undefined), 1_000)));
        report = await drive(engine.forceFlush({ timeoutMillis: 60_000 }));
      }
      return report;
    },
    async stop(): Promise<void> {
      await drive(engine.shutdown({ timeoutMillis: 5_000 })).catch(() => undefined);
      await emulator.close();
    },
  };
}

export type InstanceHarness = Awaited<ReturnType<typeof startInstanceHarness>>;
