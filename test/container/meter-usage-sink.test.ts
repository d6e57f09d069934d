import { MarketplaceMeteringClient, MeterUsageCommand } from '@aws-sdk/client-marketplace-metering';
import {
  clientTokenOf,
  INSTANCE_CUSTOMER,
  InstanceMeteringError,
  MeterUsageSink,
} from '@meterkit/aws-marketplace';
import { HOUR_MILLIS, type MeteringEvents, silentLogger } from '@meterkit/core';
import { keyIdFor, sealRecord } from '@meterkit/core/store';
import { configurationErrorOf } from '@meterkit/core/testing';
import { startEmulator } from '@meterkit/emulator';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CREDENTIALS,
  DIMENSION,
  type InstanceHarness,
  PRODUCT,
  START,
  startInstanceHarness,
} from './support/instance-harness.js';

let h: InstanceHarness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

function meterUsageCalls(harness: InstanceHarness) {
  return harness.emulator.ledger.calls().filter((c) => c.operation === 'MeterUsage');
}

describe('engine → MeterUsageSink → emulator', () => {
  it('sends one MeterUsage per dimension and hour, stamped with the hour start', async () => {
    h = await startInstanceHarness();
    h.engine.record(INSTANCE_CUSTOMER, DIMENSION, 3);
    h.engine.record(INSTANCE_CUSTOMER, DIMENSION, 4);
    h.engine.record(INSTANCE_CUSTOMER, 'gb_stored', 10);
    await h.clock.advance(40 * 60_000);
    h.engine.record(INSTANCE_CUSTOMER, DIMENSION, 1);
    await h.closeHour();
    await h.flushAll();
    const billed = h.emulator.ledger
      .records()
      .map((r) => [r.operation, r.dimension, r.hourStartMillis, r.quantity]);
    expect(billed.sort()).toEqual([
      ['MeterUsage', 'gb_stored', START, 10],
      ['MeterUsage', DIMENSION, START, 8],
    ]);
    expect(h.emulator.ledger.records().every((r) => r.timestampMillis === r.hourStartMillis)).toBe(true);
    expect(meterUsageCalls(h)).toHaveLength(2);
  });

  it('sends the hour as one MeterUsage whose UsageAllocations sum to it, identical after a lost answer', async () => {
    h = await startInstanceHarness();
    h.emulator.control.scheduleFaults({ fault: 'drop-response', operation: 'MeterUsage', count: 1 });
    h.engine.record(INSTANCE_CUSTOMER, DIMENSION, 3, undefined, { tenant: 'blue' });
    h.engine.record(INSTANCE_CUSTOMER, DIMENSION, 2);
    h.engine.record(INSTANCE_CUSTOMER, DIMENSION, 4, undefined, { tenant: 'green' });
    await h.closeHour();
    await h.flushAll();
    const [billed] = h.emulator.ledger.records();
    expect(h.emulator.ledger.records()).toHaveLength(1);
    expect([billed?.operation, billed?.quantity, billed?.conflictingResends]).toEqual(['MeterUsage', 9, 0]);
    expect(billed?.allocations).toEqual([
      { AllocatedUsageQuantity: 2 },
      { AllocatedUsageQuantity: 3, Tags: [{ Key: 'tenant', Value: 'blue' }] },
      { AllocatedUsageQuantity: 4, Tags: [{ Key: 'tenant', Value: 'green' }] },
    ]);
    expect(meterUsageCalls(h).length).toBeGreaterThanOrEqual(2);
  });

  it('bills each hour once when answers are lost, the service fails and throttles (identical resends)', async () => {
    h = await startInstanceHarness();
    h.emulator.control.scheduleFaults(
      { fault: 'drop-response', operation: 'MeterUsage', count: 2 },
      { fault: 'internal-error', operation: 'MeterUsage', count: 1 },
      { fault: 'throttle', operation: 'MeterUsage', count: 2 },
    );
    for (let hour = 0; hour < 3; hour++) {
      h.engine.record(INSTANCE_CUSTOMER, DIMENSION, 5 + hour);
      await h.closeHour();
      await h.flushAll();
    }
    const billed = h.emulator.ledger.records();
    expect(billed.map((r) => [r.hourStartMillis - START, r.quantity])).toEqual([
      [0, 5],
      [HOUR_MILLIS, 6],
      [2 * HOUR_MILLIS, 7],
    ]);
    expect(billed.every((r) => r.conflictingResends === 0)).toBe(true);
    expect(meterUsageCalls(h).length).toBeGreaterThan(3);
    expect((await h.engine.stats()).deadLetters).toBe(0);
  });

  it('carries the quantity to the next hour when this instance already sent another one for that hour', async () => {
    h = await startInstanceHarness();
    // An earlier process of this instance sent 2 for 10:00 (e.g. a partial hour before a crash).
    const client = new MarketplaceMeteringClient({
      endpoint: h.emulator.endpoint,
      region: 'us-east-1',
      credentials: CREDENTIALS,
      maxAttempts: 1,
    });
    await client.send(
      new MeterUsageCommand({
        ProductCode: PRODUCT,
        UsageDimension: DIMENSION,
        UsageQuantity: 2,
        Timestamp: new Date(START),
      }),
    );
    const carried: MeteringEvents['record.carried-forward'][] = [];
    h.engine.events.on('record.carried-forward', (e) => carried.push(e));
    h.engine.record(INSTANCE_CUSTOMER, DIMENSION, 9);
    await h.closeHour();
    await h.flushAll();
    expect(carried).toHaveLength(1);
    await h.closeHour();
    await h.flushAll();
    expect(h.emulator.ledger.records().map((r) => [r.hourStartMillis - START, r.quantity])).toEqual([
      [0, 2],
      [HOUR_MILLIS, 9],
    ]);
    client.destroy();
  });

  it('dead-letters usage recorded for a customer rather than sending it as this instance', async () => {
    h = await startInstanceHarness();
    const dead: MeteringEvents['record.dead-lettered'][] = [];
    h.engine.events.on('record.dead-lettered', (e) => dead.push(e));
    h.engine.record({ customerIdentifier: 'cust-alice' }, DIMENSION, 4);
    await h.closeHour();
    await h.flushAll();
    expect(dead.map((e) => [e.reason, e.record.quantity])).toEqual([['rejected', 4]]);
    expect(meterUsageCalls(h)).toEqual([]);
  });

  it('uses MeterUsage rules for the engine defaults: a 6 h window, backoff up to 30 min, no month-end cut-off', async () => {
    h = await startInstanceHarness();
    expect(h.engine.options).toMatchObject({
      serviceWindowMillis: 6 * HOUR_MILLIS,
      retryMaxMillis: 30 * 60_000,
      monthEndCutoffHourUtc: null,
    });
  });

  it('keeps engine options that are given over the sink defaults', async () => {
    h = await startInstanceHarness({ engine: { serviceWindowMillis: 3 * HOUR_MILLIS } });
    expect(h.engine.options.serviceWindowMillis).toBe(3 * HOUR_MILLIS);
  });
});

describe('MeterUsageSink', () => {
  it('derives a ClientToken of at most 64 characters from the record key and hour, not its quantity', () => {
    const keyId = keyIdFor(INSTANCE_CUSTOMER, DIMENSION, PRODUCT);
    const token = clientTokenOf(sealRecord(keyId, START, 5));
    expect(token.length).toBeLessThanOrEqual(64);
    expect(clientTokenOf(sealRecord(keyId, START, 6))).toBe(token);
    expect(clientTokenOf(sealRecord(keyId, START + HOUR_MILLIS, 5))).not.toBe(token);
  });

  it('refuses failClosedAfterMillis under 2 hours', () => {
    expect(
      configurationErrorOf(() => new MeterUsageSink({ failClosedAfterMillis: HOUR_MILLIS })),
    ).toMatchObject({
      field: 'MeterUsageSink.failClosedAfterMillis',
    });
  });

  it('plans one record per call and refuses a batch of two unsent, so the dispatcher splits it', async () => {
    const emulator = await startEmulator({ port: 0, now: () => START, faults: { quota: false } });
    const sink = new MeterUsageSink({
      clientConfig: { endpoint: emulator.endpoint, region: 'us-east-1', credentials: CREDENTIALS },
      logger: silentLogger,
      now: () => START,
    });
    const first = sealRecord(keyIdFor(INSTANCE_CUSTOMER, DIMENSION, PRODUCT), START, 1);
    const second = sealRecord(keyIdFor(INSTANCE_CUSTOMER, 'gb_stored', PRODUCT), START, 2);
    try {
      expect(sink.planBatches([first, second])).toEqual([[first], [second]]);
      const answer = await sink.export([first, second], { signal: new AbortController().signal });
      expect(answer).toMatchObject({ status: 'rejected', code: 'NotOneCall' });
      expect(emulator.ledger.calls()).toHaveLength(0);
    } finally {
      await sink.shutdown();
      await emulator.close();
    }
  });

  it('calls onFailClosed once after 2 h of failed calls, not before, and resets on the next answer', async () => {
    let now = START;
    const emulator = await startEmulator({ port: 0, now: () => now, faults: { quota: false } });
    const outages: number[] = [];
    const sink = new MeterUsageSink({
      clientConfig: { endpoint: emulator.endpoint, region: 'us-east-1', credentials: CREDENTIALS },
      logger: silentLogger,
      now: () => now,
      onFailClosed: (outage) => outages.push(outage.failingSinceMillis),
    });
    const record = sealRecord(keyIdFor(INSTANCE_CUSTOMER, DIMENSION, PRODUCT), START, 1);
    const send = () => sink.export([record], { signal: new AbortController().signal });
    try {
      emulator.control.scheduleFaults({ fault: 'internal-error', operation: 'MeterUsage', count: 4 });
      await send();
      now += 2 * HOUR_MILLIS - 1;
      await send();
      expect(outages).toEqual([]);
      expect(sink.health()).toEqual({ failingSinceMillis: START, failClosed: false });
      now += 1;
      await send();
      now += 60_000;
      await send();
      expect(outages).toEqual([START]);
      expect(sink.health().failClosed).toBe(true);
      now = START + 3 * HOUR_MILLIS;
      expect((await send()).status).toBe('done');
      expect(sink.health()).toEqual({ failingSinceMillis: undefined, failClosed: false });
    } finally {
      await sink.shutdown();
      await emulator.close();
    }
  });

  describe('dryRun', () => {
    it('passes when the credentials may meter and the buyer is entitled, and meters nothing', async () => {
      h = await startInstanceHarness();
      await h.sink.dryRun({ productCode: PRODUCT, dimension: DIMENSION });
      expect(h.emulator.ledger.records()).toEqual([]);
    });

    it('throws not-entitled when the buyer is not entitled', async () => {
      h = await startInstanceHarness({
        emulator: { products: [{ productCode: PRODUCT, dimensions: [DIMENSION], entitled: false }] },
      });
      const error = await h.sink
        .dryRun({ productCode: PRODUCT, dimension: DIMENSION })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InstanceMeteringError);
      expect(error).toMatchObject({ reason: 'not-entitled', awsErrorName: 'CustomerNotEntitledException' });
    });

    it('retries throttling and then passes', async () => {
      h = await startInstanceHarness();
      h.emulator.control.scheduleFaults({ fault: 'throttle', operation: 'MeterUsage', count: 2 });
      await h.sink.dryRun({ productCode: PRODUCT, dimension: DIMENSION, sleep: async () => undefined });
      expect(meterUsageCalls(h)).toHaveLength(3);
    });
  });
});
