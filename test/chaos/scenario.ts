/** Runs one chaos scenario: replicas, traffic, stops and kills on an accelerated clock, then the verdict. */
import { HOUR_MILLIS, hourStartOf, type UsageStore } from '@meterkit/core';
import { type Emulator, startEmulator } from '@meterkit/emulator';
import { AcceleratedClock } from './accelerated-clock.mjs';
import { DIMENSIONS, PRODUCT_CODE } from './customers.mjs';
import { ReplicaProcess } from './replica-process.js';
import { Traffic } from './traffic.js';
import { billedUsage, expectedUsage, figures, findProblems, type Kill } from './verdict.js';

/** Simulated milliseconds per real millisecond: one simulated hour takes 10 real seconds. */
export const SPEED = 360;
/** The first simulated hour; the run starts 45 minutes into it and crosses three boundaries. */
export const H0 = Date.UTC(2026, 10, 26, 10);
const MINUTE = 60_000;

/** Engine options of every replica, in simulated milliseconds (scaled to real time by the clock). */
export const ENGINE = {
  checkpointMillis: 60_000,
  sealDelayMillis: 120_000,
  dispatchIntervalMillis: 10_000,
  exportTimeoutMillis: 120_000,
  leaseMillis: 300_000,
  retryMaxMillis: 120_000,
  shutdownTimeoutMillis: 30_000,
};

/**
 * Fault settings of the emulator: 20 % throttling, 5 % 500s, 10 % of records unprocessed, 5 % of answers lost after
 * commit, and AWS's 10 calls/s quota (on the emulator's clock, which is the shared accelerated one).
 */
export const FAULTS = {
  throttleProbability: 0.2,
  internalErrorProbability: 0.05,
  unprocessedProbability: 0.1,
  dropResponseProbability: 0.05,
};

/** A step of a scenario, at a simulated time. */
export type Step =
  | { readonly at: number; readonly stop: string }
  | { readonly at: number; readonly kill: string }
  | { readonly at: number; readonly endTraffic: true };

export interface ScenarioOptions {
  readonly label: string;
  readonly replicas: readonly string[];
  /** Environment of every replica: the store to use. */
  readonly storeEnv: Record<string, string>;
  /** A store on the same data, for the harness to watch the outbox drain and read dead letters. */
  readonly openStore: () => UsageStore;
  readonly steps: readonly Step[];
  readonly customers: number;
  readonly concurrency: number;
  readonly seed: number;
}

export interface ScenarioResult {
  readonly problems: string[];
  readonly figures: Record<string, number>;
  readonly deadLetters: number;
  readonly replicaErrors: string;
}

const realSleep = (millis: number) => new Promise((resolve) => setTimeout(resolve, millis));

/**
 * Runs replicas against the emulator on one accelerated clock, drives traffic, applies the steps (graceful stops and
 * kills, each followed by a restart), then lets time pass the last hour and its seal delay, waits until the store has
 * sent everything, stops every replica and compares what was billed with what was served.
 */
export async function runScenario(options: ScenarioOptions): Promise<ScenarioResult> {
  const clock = new AcceleratedClock({
    epoch: H0 + 45 * MINUTE,
    realOrigin: Date.now() + 3_000,
    speed: SPEED,
  });
  const emulator: Emulator = await startEmulator({
    port: 0,
    now: () => clock.now(),
    seed: options.seed,
    products: [{ productCode: PRODUCT_CODE, dimensions: [...DIMENSIONS] }],
    faults: FAULTS,
  });
  const env = {
    ...options.storeEnv,
    ...clock.toEnv(),
    CHAOS_EMULATOR: emulator.endpoint,
    CHAOS_ENGINE: JSON.stringify(ENGINE),
  };
  const replicas = new Map(options.replicas.map((name) => [name, new ReplicaProcess(name, env)]));
  const traffic = new Traffic(options.customers, options.seed);
  const kills: Kill[] = [];
  const watcher = options.openStore();
  try {
    await Promise.all([...replicas.values()].map(async (r) => traffic.open(r.name, await r.start())));
    await realSleep(clock.realMillisUntil(clock.epoch));
    traffic.start(options.concurrency);
    for (const step of options.steps) {
      await realSleep(clock.realMillisUntil(step.at));
      if ('endTraffic' in step) {
        await traffic.stop();
      } else if ('stop' in step) {
        const replica = replicas.get(step.stop) as ReplicaProcess;
        await traffic.drain(replica.name);
        await replica.stop();
        traffic.open(replica.name, await replica.start());
      } else {
        const replica = replicas.get(step.kill) as ReplicaProcess;
        traffic.close(replica.name);
        const lossFrom = await replica.kill();
        kills.push({ replica: replica.name, lossFrom, gone: Date.now() });
        traffic.open(replica.name, await replica.start());
      }
    }
    const lastHour = hourStartOf(Math.max(...options.steps.map((s) => s.at)));
    const allSealed = lastHour + HOUR_MILLIS + ENGINE.sealDelayMillis + MINUTE;
    await realSleep(clock.realMillisUntil(allSealed));
    await waitUntilSent(watcher, 30_000);
    for (const replica of replicas.values()) await replica.stop();

    const records = emulator.ledger.records().filter((r) => r.operation === 'BatchMeterUsage');
    const expected = expectedUsage(traffic.log, kills);
    const billed = billedUsage(records);
    return {
      problems: findProblems(expected, billed, records),
      figures: {
        ...figures(traffic.log, records, emulator.ledger.calls()),
        'units a kill may lose': [...expected.values()].reduce((sum, e) => sum + e.mayBeLost, 0),
        'units lost': [...expected.entries()].reduce(
          (sum, [key, e]) => sum + Math.max(0, e.served - (billed.get(key) ?? 0)),
          0,
        ),
        'replica retries (graceful lives)': [...replicas.values()]
          .flatMap((r) => r.summaries)
          .reduce((sum, s) => sum + s.retrying, 0),
      },
      deadLetters: (await watcher.deadLetters(1_000)).length,
      replicaErrors: [...replicas.values()]
        .map((r) => r.stderr)
        .join('')
        .slice(-3_000),
    };
  } finally {
    await traffic.stop().catch(() => undefined);
    for (const replica of replicas.values()) await replica.kill();
    await watcher.close();
    await emulator.close();
  }
}

/** Waits until nothing is left to send: no open usage, an empty outbox. */
async function waitUntilSent(store: UsageStore, timeoutMillis: number): Promise<void> {
  const deadline = Date.now() + timeoutMillis;
  for (;;) {
    const s = await store.stats();
    if (s.openUnits === 0 && s.outboxReady + s.outboxWaiting + s.outboxLeased === 0) return;
    if (Date.now() > deadline)
      throw new Error(`the store still holds usage after ${timeoutMillis} ms: ${JSON.stringify(s)}`);
    await realSleep(100);
  }
}
