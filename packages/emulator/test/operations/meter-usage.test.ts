import { MeterUsageCommand, type MeterUsageCommandInput } from '@aws-sdk/client-marketplace-metering';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Emulator } from '../../src/index.js';
import { at, client, HOUR, NOW, start } from '../helpers.js';

describe('MeterUsage', () => {
  let emulator: Emulator;
  const input = (overrides: Partial<MeterUsageCommandInput> = {}): MeterUsageCommandInput => ({
    ProductCode: 'prod-ami',
    UsageDimension: 'vcpu-hours',
    UsageQuantity: 4,
    Timestamp: at(NOW - 5 * 60_000),
    ...overrides,
  });
  const send = (i: MeterUsageCommandInput, c = client(emulator)) => c.send(new MeterUsageCommand(i));
  const errorOf = (i: MeterUsageCommandInput) =>
    send(i).then(
      () => undefined,
      (e: Error) => e.name,
    );

  beforeAll(async () => {
    emulator = await start({
      products: [{ productCode: 'prod-closed', dimensions: ['vcpu-hours'], entitled: false }],
    });
  });
  beforeEach(() => emulator.control.reset());
  afterAll(() => emulator.close());

  it('bills one record per instance, product, dimension and hour', async () => {
    const out = await send(input());
    expect(emulator.ledger.records()[0]).toMatchObject({
      operation: 'MeterUsage',
      meteringRecordId: out.MeteringRecordId,
      instanceId: 'AKIDEMULATORTEST',
      quantity: 4,
    });
  });

  it('returns the same MeteringRecordId for an identical request in the same hour', async () => {
    const first = await send(input());
    const second = await send(input({ Timestamp: at(NOW - 20 * 60_000) }));
    expect(second.MeteringRecordId).toBe(first.MeteringRecordId);
  });

  it('refuses another quantity in the same hour with DuplicateRequestException', async () => {
    await send(input());
    expect(await errorOf(input({ UsageQuantity: 5 }))).toBe('DuplicateRequestException');
  });

  it('identifies the instance by the x-meterkit-instance-id header when given', async () => {
    const other = client(emulator);
    other.middlewareStack.add(
      (next) => (args) => {
        (args.request as { headers: Record<string, string> }).headers['x-meterkit-instance-id'] = 'i-0abc';
        return next(args);
      },
      { step: 'build' },
    );
    await send(input());
    await send(input({ UsageQuantity: 9 }), other);
    expect(emulator.ledger.records().map((r) => [r.instanceId, r.quantity])).toEqual([
      ['AKIDEMULATORTEST', 4],
      ['i-0abc', 9],
    ]);
  });

  it('refuses a reused ClientToken with other parameters with a 409 IdempotencyConflictException', async () => {
    await send(input({ ClientToken: 'token-1' }));
    const error = await send(input({ ClientToken: 'token-1', UsageDimension: 'gpu-hours' })).catch((e) => e);
    expect([error.name, error.$metadata.httpStatusCode]).toEqual(['IdempotencyConflictException', 409]);
  });

  it('replays the original answer for a reused ClientToken with the same parameters', async () => {
    const first = await send(input({ ClientToken: 'token-1' }));
    const again = await send(input({ ClientToken: 'token-1' }));
    expect(again.MeteringRecordId).toBe(first.MeteringRecordId);
  });

  it('answers DryRunOperation for a valid DryRun request without billing', async () => {
    expect(await errorOf(input({ DryRun: true }))).toBe('DryRunOperation');
    expect(emulator.ledger.records()).toEqual([]);
  });

  it('refuses a product the caller is not entitled to with CustomerNotEntitledException', async () => {
    expect(await errorOf(input({ ProductCode: 'prod-closed' }))).toBe('CustomerNotEntitledException');
  });

  it('refuses an unknown dimension of a configured product with InvalidUsageDimensionException', async () => {
    emulator.control.putProduct({ productCode: 'prod-ami', dimensions: ['vcpu-hours'] });
    expect(await errorOf(input({ UsageDimension: 'gpu-hours' }))).toBe('InvalidUsageDimensionException');
  });

  it('refuses a record older than the 6 h MeterUsage window', async () => {
    expect(await errorOf(input({ Timestamp: at(NOW - 6 * HOUR) }))).toBe('TimestampOutOfBoundsException');
  });

  it('refuses an empty product code with InvalidProductCodeException', async () => {
    expect(await errorOf(input({ ProductCode: '' }))).toBe('InvalidProductCodeException');
  });
});
