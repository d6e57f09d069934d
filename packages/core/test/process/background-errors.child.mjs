// A host process whose logger, event listeners and store all fail: it must stay up and bill every unit it served.
// Run by background-errors.test.ts against the built package; prints one JSON line with what was served and billed.
import { createMeteringEngine, HOUR_MILLIS, MemoryStore, MeteringStoreError } from '@meterkit/core';
import { groupIntoBatches } from '@meterkit/core/sink';

const startedAt = Date.now();
// Real timers, and a clock that starts 1.5 s before an hour ends, so the hour closes (and is billed) within the run.
const offset = Math.ceil(startedAt / HOUR_MILLIS) * HOUR_MILLIS + HOUR_MILLIS - 1_500 - startedAt;
const clock = { now: () => Date.now() + offset };
const boundary = Math.floor(clock.now() / HOUR_MILLIS) * HOUR_MILLIS + HOUR_MILLIS;
const OUTAGE_ENDS = startedAt + 700;

/** The store refuses writes for the first 700 ms: every checkpoint and flush then fails and is reported. */
class FlakyStore extends MemoryStore {
  async addDeltas(deltas) {
    if (Date.now() < OUTAGE_ENDS) throw new MeteringStoreError('ERR_METERING_STORE', 'connection refused');
    return super.addDeltas(deltas);
  }
}

let billed = 0;
const sink = {
  name: 'counting',
  maxBatchSize: 25,
  planBatches: (records) => groupIntoBatches(records, { groupOf: (r) => r.key.productCode, maxRecords: 25 }),
  async export(records) {
    for (const record of records) billed += record.quantity;
    return {
      status: 'done',
      outcomes: records.map((r) => ({ id: r.id, status: 'success', meteringRecordId: `m-${r.id}` })),
    };
  },
};

const throwing = () => {
  throw new Error('the logger is broken');
};
const engine = createMeteringEngine({
  sink,
  store: new FlakyStore(),
  productCode: 'prod-abc123',
  clock,
  checkpointMillis: 20,
  sealDelayMillis: 0,
  dispatchIntervalMillis: 50,
  logger: { info: throwing, warn: throwing, error: throwing },
});
engine.events.on('engine.error', () => {
  throw new Error('a listener of engine.error is broken');
});
engine.events.on('usage.checkpointed', () => {
  throw new Error('a listener of usage.checkpointed is broken');
});
await engine.start();

let served = 0;
const customer = { customerIdentifier: 'cust-alice', productCode: 'prod-abc123' };
// The ref'd interval is the host's own work (a server would be): it keeps the process alive.
const traffic = setInterval(() => {
  if (clock.now() >= boundary - 200) {
    clearInterval(traffic);
    return;
  }
  if (engine.record(customer, 'api_calls', 3)) served += 3;
}, 5);

const watchdog = setInterval(() => {
  const done = served > 0 && billed === served && clock.now() > boundary;
  if (done || Date.now() - startedAt > 15_000) {
    clearInterval(watchdog);
    process.stdout.write(`${JSON.stringify({ served, billed })}\n`);
    process.exit(done ? 0 : 2);
  }
}, 20);
