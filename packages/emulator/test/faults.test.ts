import {
  BatchMeterUsageCommand,
  type BatchMeterUsageCommandOutput,
  MeterUsageCommand,
  type UsageRecord,
} from '@aws-sdk/client-marketplace-metering';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { Emulator, EmulatorOptions } from '../src/index.js';
import { at, client, NOW, start } from './helpers.js';

const records = (n: number): UsageRecord[] =>
  Array.from({ length: n }, (_, i) => ({
    CustomerIdentifier: `cust-${i}`,
    Dimension: 'requests',
    Quantity: i,
    Timestamp: at(NOW - 60_000),
  }));

describe('faults', () => {
  let emulator: Emulator | undefined;
  const boot = async (options: EmulatorOptions = {}) => {
    emulator = await start(options);
    return emulator;
  };
  afterEach(() => emulator?.close());
  const batch = (e: Emulator, n = 1) =>
    client(e).send(new BatchMeterUsageCommand({ ProductCode: 'prod-a', UsageRecords: records(n) }));
  const outcome = (p: Promise<unknown>) =>
    p.then(
      () => 'ok',
      (error: Error) => error.name,
    );

  it('throttles the 11th BatchMeterUsage call within one second of emulator time', async () => {
    const e = await boot();
    const results: string[] = [];
    for (let i = 0; i < 11; i++) results.push(await outcome(batch(e)));
    expect(results.slice(0, 10).every((r) => r === 'ok')).toBe(true);
    expect(results[10]).toBe('ThrottlingException');
  });

  it('refills the quota as the emulator clock advances', async () => {
    const e = await boot();
    for (let i = 0; i < 10; i++) await batch(e);
    e.control.clock.advance(100);
    expect(await outcome(batch(e))).toBe('ok');
  });

  it('keeps a separate quota per operation', async () => {
    const e = await boot();
    for (let i = 0; i < 10; i++) await batch(e);
    const meter = client(e).send(
      new MeterUsageCommand({ ProductCode: 'p', UsageDimension: 'd', UsageQuantity: 1, Timestamp: at(NOW) }),
    );
    expect(await outcome(meter)).toBe('ok');
  });

  it('does not throttle when the quota is disabled', async () => {
    const e = await boot({ faults: { quota: false } });
    const results = await Promise.all(Array.from({ length: 30 }, () => outcome(batch(e))));
    expect(new Set(results)).toEqual(new Set(['ok']));
  });

  it('throttles every call at throttleProbability 1', async () => {
    const e = await boot({ faults: { throttleProbability: 1 } });
    expect(await outcome(batch(e))).toBe('ThrottlingException');
    expect(e.ledger.calls()[0]).toMatchObject({
      statusCode: 400,
      errorType: 'ThrottlingException',
      fault: 'throttle',
    });
  });

  it('answers InternalServiceErrorException with HTTP 500 at internalErrorProbability 1', async () => {
    const e = await boot({ faults: { internalErrorProbability: 1 } });
    const error = await batch(e).catch((err) => err);
    expect([error.name, error.$metadata.httpStatusCode]).toEqual(['InternalServiceErrorException', 500]);
  });

  it('applies per-operation settings only to that operation', async () => {
    const e = await boot({ faults: { operations: { MeterUsage: { throttleProbability: 1 } } } });
    expect(await outcome(batch(e))).toBe('ok');
  });

  it('fails exactly the scheduled number of calls', async () => {
    const e = await boot();
    e.control.scheduleFaults({ fault: 'throttle', operation: 'BatchMeterUsage', count: 2 });
    const results = [await outcome(batch(e)), await outcome(batch(e)), await outcome(batch(e))];
    expect(results).toEqual(['ThrottlingException', 'ThrottlingException', 'ok']);
  });

  it('lets the SDK retry through scheduled throttles', async () => {
    const e = await boot();
    e.control.scheduleFaults({ fault: 'throttle', count: 1 });
    const out = await client(e, { maxAttempts: 2 }).send(
      new BatchMeterUsageCommand({ ProductCode: 'prod-a', UsageRecords: records(1) }),
    );
    expect(out.$metadata.attempts).toBe(2);
  });

  it('commits the records but loses the answer on a dropped response', async () => {
    const e = await boot();
    e.control.scheduleFaults({ fault: 'drop-response' });
    const outcomeOfCall = await batch(e, 2).then(
      () => 'answered',
      (err: Error) => err.name,
    );
    // A network-level failure, not an answer from the service.
    expect(outcomeOfCall).not.toBe('answered');
    expect(outcomeOfCall).not.toMatch(/Exception$/);
    expect(e.ledger.records()).toHaveLength(2);
    expect(e.ledger.calls()[0]).toMatchObject({ statusCode: null, fault: 'drop-response' });
  });

  it('lets a retry after a dropped response see Success with the original ids', async () => {
    const e = await boot();
    e.control.scheduleFaults({ fault: 'drop-response' });
    await batch(e).catch(() => undefined);
    const again = await batch(e);
    expect(again.Results?.[0]).toMatchObject({
      Status: 'Success',
      MeteringRecordId: e.ledger.records()[0]?.meteringRecordId,
    });
  });

  it('returns every record unprocessed and bills none under a scheduled unprocessed fault', async () => {
    const e = await boot();
    e.control.scheduleFaults({ fault: 'unprocessed' });
    const out = await batch(e, 3);
    expect([out.Results?.length, out.UnprocessedRecords?.length, e.ledger.records().length]).toEqual([
      0, 3, 0,
    ]);
  });

  it('partitions the input into disjoint Results and UnprocessedRecords', async () => {
    const e = await boot({ faults: { quota: false } });
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 25 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        async (n, p) => {
          e.control.reset();
          e.control.setFaults({ unprocessedProbability: p });
          const out: BatchMeterUsageCommandOutput = await batch(e, n);
          const ids = [
            ...(out.Results ?? []).map((r) => r.UsageRecord?.CustomerIdentifier),
            ...(out.UnprocessedRecords ?? []).map((r) => r.CustomerIdentifier),
          ];
          expect(ids.sort()).toEqual(
            records(n)
              .map((r) => r.CustomerIdentifier)
              .sort(),
          );
          expect(e.ledger.records()).toHaveLength(out.Results?.length ?? 0);
        },
      ),
      { numRuns: 40, seed: 7 },
    );
  });

  it('draws the same unprocessed records for the same seed', async () => {
    const pattern = async () => {
      const e = await start({ seed: 42, faults: { unprocessedProbability: 0.5 } });
      const out = await batch(e, 25);
      await e.close();
      return out.UnprocessedRecords?.map((r) => r.CustomerIdentifier);
    };
    expect(await pattern()).toEqual(await pattern());
  });

  it('delays answers by the configured latency', async () => {
    const e = await boot({ faults: { latencyMillis: 30 } });
    const started = performance.now();
    await batch(e);
    expect(performance.now() - started).toBeGreaterThanOrEqual(29);
  });

  it('changes faults at runtime', async () => {
    const e = await boot();
    e.control.setFaults({ throttleProbability: 1 });
    const before = await outcome(batch(e));
    e.control.setFaults({ throttleProbability: 0 });
    expect([before, await outcome(batch(e))]).toEqual(['ThrottlingException', 'ok']);
  });

  it('rejects a probability outside [0, 1]', async () => {
    const e = await boot();
    expect(() => e.control.setFaults({ throttleProbability: 2 })).toThrow(/between 0 and 1/);
  });
});
