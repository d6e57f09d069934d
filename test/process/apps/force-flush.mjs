// A plain Node script whose only pending work is a forceFlush() paced by the engine's rate limiter (an unref'd timer):
// it prints `flushed <accepted>` when the flush returns. Without the drain's hold on the process, Node would exit with
// code 0 in the middle of the flush, printing nothing.
import { createMeteringEngine, MemoryStore, silentLogger } from '@meterkit/core';
import { InMemorySink } from '@meterkit/core/testing';

const hourAgo = Date.now() - 2 * 3_600_000;
const engine = createMeteringEngine({
  sink: Object.assign(new InMemorySink(), { maxBatchSize: 1 }),
  store: new MemoryStore(),
  productCode: 'prod-process-tests',
  logger: silentLogger,
  maxCallsPerSecond: 1,
});
await engine.start();
for (const customer of ['a', 'b', 'c'])
  engine.record({ customerIdentifier: customer }, 'api_calls', 1, hourAgo);
const report = await engine.forceFlush({ timeoutMillis: 10_000 });
process.stdout.write(`flushed ${report.accepted}\n`);
await engine.shutdown();
