import {
  BatchMeterUsageCommand,
  type BatchMeterUsageCommandInput,
  type UsageRecord,
} from '@aws-sdk/client-marketplace-metering';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Emulator, EmulatorOptions } from '../../src/index.js';
import { at, client, HOUR, NOW, rawCall, start } from '../helpers.js';

const LICENSE_A = 'arn:aws:license-manager::111111111111:license:l-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const LICENSE_B = 'arn:aws:license-manager::111111111111:license:l-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';

function legacy(overrides: Partial<UsageRecord> = {}): UsageRecord {
  return {
    CustomerIdentifier: 'cust-1',
    Dimension: 'requests',
    Quantity: 5,
    Timestamp: at(NOW - 10 * 60_000),
    ...overrides,
  };
}

describe('BatchMeterUsage (permissive defaults)', () => {
  let emulator: Emulator;
  const send = (input: BatchMeterUsageCommandInput) =>
    client(emulator).send(new BatchMeterUsageCommand(input));
  const errorOf = (input: BatchMeterUsageCommandInput) =>
    send(input).then(
      () => undefined,
      (e: Error) => e.name,
    );

  beforeAll(async () => {
    emulator = await start();
  });
  beforeEach(() => emulator.control.reset());
  afterAll(() => emulator.close());

  it('bills a legacy record and reports it in the ledger with its MeteringRecordId', async () => {
    const out = await send({ ProductCode: 'prod-a', UsageRecords: [legacy()] });
    const [record] = emulator.ledger.records();
    expect(out.Results?.[0]).toMatchObject({ Status: 'Success', MeteringRecordId: record?.meteringRecordId });
    expect(record).toMatchObject({
      productCode: 'prod-a',
      customerIdentifier: 'cust-1',
      dimension: 'requests',
      quantity: 5,
      hourStartMillis: Date.UTC(2026, 2, 15, 12),
      firstReceivedMillis: NOW,
      region: 'us-east-1',
    });
  });

  it('echoes the submitted record in Results', async () => {
    const record = legacy({ Timestamp: at(NOW - 61_500) });
    const out = await send({ ProductCode: 'prod-a', UsageRecords: [record] });
    expect(out.Results?.[0]?.UsageRecord).toEqual(record);
  });

  it('answers an empty UsageRecords list with empty Results', async () => {
    const out = await send({ ProductCode: 'prod-a', UsageRecords: [] });
    expect(out.Results).toEqual([]);
    expect(out.UnprocessedRecords).toEqual([]);
  });

  it('answers an identical resend with Success and the original MeteringRecordId', async () => {
    const first = await send({ ProductCode: 'prod-a', UsageRecords: [legacy()] });
    const again = await send({
      ProductCode: 'prod-a',
      UsageRecords: [legacy({ Timestamp: at(NOW - 60_000) })],
    });
    expect(again.Results?.[0]?.Status).toBe('Success');
    expect(again.Results?.[0]?.MeteringRecordId).toBe(first.Results?.[0]?.MeteringRecordId);
    expect(emulator.ledger.totalQuantity()).toBe(5);
  });

  it('answers another quantity for the same hour with DuplicateRecord and keeps the first', async () => {
    await send({ ProductCode: 'prod-a', UsageRecords: [legacy({ Quantity: 5 })] });
    const second = await send({ ProductCode: 'prod-a', UsageRecords: [legacy({ Quantity: 7 })] });
    expect(second.Results?.[0]?.Status).toBe('DuplicateRecord');
    expect(second.Results?.[0]?.MeteringRecordId).toBeUndefined();
    expect(emulator.ledger.totalQuantity()).toBe(5);
    expect(emulator.ledger.records()[0]?.conflictingResends).toBe(1);
  });

  it('does not aggregate two records of one key inside a batch', async () => {
    const out = await send({
      ProductCode: 'prod-a',
      UsageRecords: [legacy({ Quantity: 2 }), legacy({ Quantity: 3 })],
    });
    expect(out.Results?.map((r) => r.Status)).toEqual(['Success', 'DuplicateRecord']);
    expect(emulator.ledger.totalQuantity()).toBe(2);
  });

  it('bills the next hour as a separate record', async () => {
    emulator.control.clock.advance(HOUR);
    await send({
      ProductCode: 'prod-a',
      UsageRecords: [legacy({ Quantity: 1 }), legacy({ Quantity: 2, Timestamp: at(NOW + 40 * 60_000) })],
    });
    expect(emulator.ledger.records().map((r) => r.quantity)).toEqual([1, 2]);
  });

  it('deduplicates per region', async () => {
    await send({ ProductCode: 'prod-a', UsageRecords: [legacy()] });
    await client(emulator, { region: 'eu-west-1' }).send(
      new BatchMeterUsageCommand({ ProductCode: 'prod-a', UsageRecords: [legacy({ Quantity: 9 })] }),
    );
    expect(emulator.ledger.records().map((r) => [r.region, r.quantity])).toEqual([
      ['us-east-1', 5],
      ['eu-west-1', 9],
    ]);
  });

  it('bills ProductCode-based and LicenseArn-based records for one buyer separately', async () => {
    await send({
      ProductCode: 'prod-a',
      UsageRecords: [legacy({ CustomerIdentifier: undefined, CustomerAWSAccountId: '222222222222' })],
    });
    await send({
      UsageRecords: [
        legacy({
          CustomerIdentifier: undefined,
          CustomerAWSAccountId: '222222222222',
          LicenseArn: LICENSE_A,
        }),
      ],
    });
    expect(emulator.ledger.totalQuantity({ customerAWSAccountId: '222222222222' })).toBe(10);
  });

  it('totals billed quantity per customer and dimension', async () => {
    await send({
      ProductCode: 'prod-a',
      UsageRecords: [
        legacy({ Quantity: 1 }),
        legacy({ Quantity: 2, Timestamp: at(NOW - 2 * HOUR) }),
        legacy({ Quantity: 4, Dimension: 'storage' }),
        legacy({ Quantity: 8, CustomerIdentifier: 'cust-2' }),
      ],
    });
    expect(emulator.ledger.totals()).toEqual([
      {
        operation: 'BatchMeterUsage',
        productCode: 'prod-a',
        customerIdentifier: 'cust-1',
        dimension: 'requests',
        quantity: 3,
        records: 2,
      },
      {
        operation: 'BatchMeterUsage',
        productCode: 'prod-a',
        customerIdentifier: 'cust-1',
        dimension: 'storage',
        quantity: 4,
        records: 1,
      },
      {
        operation: 'BatchMeterUsage',
        productCode: 'prod-a',
        customerIdentifier: 'cust-2',
        dimension: 'requests',
        quantity: 8,
        records: 1,
      },
    ]);
  });

  it('accepts Concurrent Agreements records (CustomerAWSAccountId + LicenseArn, no ProductCode)', async () => {
    const out = await send({
      UsageRecords: [
        legacy({
          CustomerIdentifier: undefined,
          CustomerAWSAccountId: '222222222222',
          LicenseArn: LICENSE_A,
        }),
      ],
    });
    expect(out.Results?.[0]?.Status).toBe('Success');
    expect(emulator.ledger.records()[0]).toMatchObject({
      licenseArn: LICENSE_A,
      customerAWSAccountId: '222222222222',
    });
  });

  it('accepts CustomerAWSAccountId without LicenseArn when ProductCode is given', async () => {
    const out = await send({
      ProductCode: 'prod-a',
      UsageRecords: [legacy({ CustomerIdentifier: undefined, CustomerAWSAccountId: '222222222222' })],
    });
    expect(out.Results?.[0]?.Status).toBe('Success');
  });

  it('refuses a record carrying both CustomerIdentifier and CustomerAWSAccountId', async () => {
    expect(
      await errorOf({
        ProductCode: 'prod-a',
        UsageRecords: [legacy({ CustomerAWSAccountId: '222222222222' })],
      }),
    ).toBe('ValidationException');
  });

  it('refuses a record carrying no customer id', async () => {
    expect(await errorOf({ ProductCode: 'prod-a', UsageRecords: [legacy({ CustomerIdentifier: '' })] })).toBe(
      'ValidationException',
    );
  });

  it('refuses ProductCode together with LicenseArn', async () => {
    const record = legacy({
      CustomerIdentifier: undefined,
      CustomerAWSAccountId: '222222222222',
      LicenseArn: LICENSE_A,
    });
    expect(await errorOf({ ProductCode: 'prod-a', UsageRecords: [record] })).toBe('ValidationException');
  });

  it('refuses LicenseArn with CustomerIdentifier', async () => {
    expect(await errorOf({ UsageRecords: [legacy({ LicenseArn: LICENSE_A })] })).toBe('ValidationException');
  });

  it('refuses a legacy record without ProductCode', async () => {
    expect(await errorOf({ UsageRecords: [legacy()] })).toBe('ValidationException');
  });

  it('refuses 26 records with ValidationException', async () => {
    const records = Array.from({ length: 26 }, (_, i) => legacy({ CustomerIdentifier: `c${i}` }));
    expect(await errorOf({ ProductCode: 'prod-a', UsageRecords: records })).toBe('ValidationException');
  });

  it('refuses allocations that do not add up to the quantity', async () => {
    const record = legacy({
      Quantity: 5,
      UsageAllocations: [
        { AllocatedUsageQuantity: 2 },
        { AllocatedUsageQuantity: 2, Tags: [{ Key: 'k', Value: 'v' }] },
      ],
    });
    expect(await errorOf({ ProductCode: 'prod-a', UsageRecords: [record] })).toBe(
      'InvalidUsageAllocationsException',
    );
  });

  it('accepts allocations that add up to the quantity and keeps them in the ledger', async () => {
    const allocations = [
      { AllocatedUsageQuantity: 2 },
      { AllocatedUsageQuantity: 3, Tags: [{ Key: 'team', Value: 'a' }] },
    ];
    await send({
      ProductCode: 'prod-a',
      UsageRecords: [legacy({ Quantity: 5, UsageAllocations: allocations })],
    });
    expect(emulator.ledger.records()[0]?.allocations).toEqual(allocations);
  });

  it('refuses more than 5 distinct tag keys across the allocations', async () => {
    const allocations = Array.from({ length: 6 }, (_, i) => ({
      AllocatedUsageQuantity: 1,
      Tags: [{ Key: `k${i}`, Value: 'v' }],
    }));
    expect(
      await errorOf({
        ProductCode: 'prod-a',
        UsageRecords: [legacy({ Quantity: 6, UsageAllocations: allocations })],
      }),
    ).toBe('InvalidTagException');
  });

  it('refuses two allocations with the same tag set', async () => {
    const tags = [{ Key: 'team', Value: 'a' }];
    const allocations = [
      { AllocatedUsageQuantity: 1, Tags: tags },
      { AllocatedUsageQuantity: 1, Tags: tags },
    ];
    expect(
      await errorOf({
        ProductCode: 'prod-a',
        UsageRecords: [legacy({ Quantity: 2, UsageAllocations: allocations })],
      }),
    ).toBe('InvalidUsageAllocationsException');
  });

  it('refuses tag characters that only the range reading of the model regex allows', async () => {
    const allocations = [{ AllocatedUsageQuantity: 1, Tags: [{ Key: 'team', Value: 'a!b' }] }];
    expect(
      await errorOf({
        ProductCode: 'prod-a',
        UsageRecords: [legacy({ Quantity: 1, UsageAllocations: allocations })],
      }),
    ).toBe('InvalidTagException');
  });

  it('accepts every character of the literal tag character list', async () => {
    const allocations = [
      { AllocatedUsageQuantity: 1, Tags: [{ Key: 'aZ09+ -=._:/@', Value: 'aZ09+ -=._:/@' }] },
    ];
    const out = await send({
      ProductCode: 'prod-a',
      UsageRecords: [legacy({ Quantity: 1, UsageAllocations: allocations })],
    });
    expect(out.Results?.[0]?.Status).toBe('Success');
  });

  it('refuses the whole batch when one record is outside the window, committing nothing', async () => {
    const records = [legacy(), legacy({ CustomerIdentifier: 'cust-2', Timestamp: at(NOW - 25 * HOUR) })];
    expect(await errorOf({ ProductCode: 'prod-a', UsageRecords: records })).toBe(
      'TimestampOutOfBoundsException',
    );
    expect(emulator.ledger.records()).toEqual([]);
  });

  it('refuses a timestamp beyond the future skew', async () => {
    expect(
      await errorOf({ ProductCode: 'prod-a', UsageRecords: [legacy({ Timestamp: at(NOW + 6 * 60_000) })] }),
    ).toBe('TimestampOutOfBoundsException');
  });

  it('auto-registers unknown products and dimensions in permissive mode', async () => {
    await send({ ProductCode: 'prod-new', UsageRecords: [legacy({ Dimension: 'gb' })] });
    expect(emulator.control.products()).toEqual([
      { productCode: 'prod-new', dimensions: ['gb'], licenseArns: [], entitled: true, configured: false },
    ]);
  });

  it('auto-subscribes unknown customers in permissive mode', async () => {
    await send({ ProductCode: 'prod-a', UsageRecords: [legacy()] });
    expect(emulator.control.customers()).toMatchObject([
      { productCode: 'prod-a', customerIdentifier: 'cust-1', autoSubscribed: true },
    ]);
  });

  it('refuses an unknown dimension of a configured product with InvalidUsageDimensionException', async () => {
    emulator.control.putProduct({ productCode: 'prod-a', dimensions: ['requests'] });
    expect(
      await errorOf({ ProductCode: 'prod-a', UsageRecords: [legacy(), legacy({ Dimension: 'gpus' })] }),
    ).toBe('InvalidUsageDimensionException');
    expect(emulator.ledger.records()).toEqual([]);
  });

  it('checks a license record dimension against the license product', async () => {
    emulator.control.putProduct({
      productCode: 'prod-a',
      dimensions: ['requests'],
      licenseArns: [LICENSE_A],
    });
    const record = legacy({
      CustomerIdentifier: undefined,
      CustomerAWSAccountId: '222222222222',
      LicenseArn: LICENSE_A,
      Dimension: 'gpus',
    });
    expect(await errorOf({ UsageRecords: [record] })).toBe('InvalidUsageDimensionException');
  });

  it('refuses a license granted to another account with InvalidLicenseException', async () => {
    emulator.control.putCustomer({
      productCode: 'prod-a',
      licenseArn: LICENSE_A,
      customerAWSAccountId: '222222222222',
    });
    const record = legacy({
      CustomerIdentifier: undefined,
      CustomerAWSAccountId: '333333333333',
      LicenseArn: LICENSE_A,
    });
    expect(await errorOf({ UsageRecords: [record] })).toBe('InvalidLicenseException');
  });

  it('refuses licenses of two products in one call with InvalidLicenseException', async () => {
    emulator.control.putProduct({
      productCode: 'prod-a',
      dimensions: ['requests'],
      licenseArns: [LICENSE_A],
    });
    emulator.control.putProduct({
      productCode: 'prod-b',
      dimensions: ['requests'],
      licenseArns: [LICENSE_B],
    });
    const records = [LICENSE_A, LICENSE_B].map((LicenseArn) =>
      legacy({ CustomerIdentifier: undefined, CustomerAWSAccountId: '222222222222', LicenseArn }),
    );
    expect(await errorOf({ UsageRecords: records })).toBe('InvalidLicenseException');
  });

  it('answers CustomerNotSubscribed for an unsubscribed customer', async () => {
    emulator.control.putCustomer({
      productCode: 'prod-a',
      customerIdentifier: 'cust-1',
      state: 'unsubscribed',
    });
    const out = await send({ ProductCode: 'prod-a', UsageRecords: [legacy()] });
    expect(out.Results?.[0]?.Status).toBe('CustomerNotSubscribed');
    expect(emulator.ledger.records()).toEqual([]);
  });

  it('keeps an unsubscribe-pending customer billable during the grace window', async () => {
    emulator.control.putCustomer({
      productCode: 'prod-a',
      customerIdentifier: 'cust-1',
      state: 'unsubscribe-pending',
    });
    emulator.control.clock.advance(HOUR - 1);
    const out = await send({
      ProductCode: 'prod-a',
      UsageRecords: [legacy({ Timestamp: at(NOW + 50 * 60_000) })],
    });
    expect(out.Results?.[0]?.Status).toBe('Success');
  });

  it('stops billing an unsubscribe-pending customer after the grace window', async () => {
    emulator.control.putCustomer({
      productCode: 'prod-a',
      customerIdentifier: 'cust-1',
      state: 'unsubscribe-pending',
    });
    emulator.control.clock.advance(HOUR);
    const out = await send({
      ProductCode: 'prod-a',
      UsageRecords: [legacy({ Timestamp: at(NOW + 50 * 60_000) })],
    });
    expect(out.Results?.[0]?.Status).toBe('CustomerNotSubscribed');
  });

  it('answers a type mismatch with SerializationException', async () => {
    const res = await rawCall(emulator, 'BatchMeterUsage', {
      ProductCode: 'prod-a',
      UsageRecords: [{ ...legacyWire(), Quantity: 1.5 }],
    });
    expect([res.status, res.body.__type]).toEqual([400, 'SerializationException']);
  });
});

function legacyWire() {
  return { CustomerIdentifier: 'cust-1', Dimension: 'requests', Quantity: 5, Timestamp: NOW / 1000 - 600 };
}

describe('BatchMeterUsage options', () => {
  let emulator: Emulator | undefined;
  const boot = async (options: EmulatorOptions) => {
    emulator = await start(options);
    return emulator;
  };
  afterEach(() => emulator?.close());
  const send = (e: Emulator, input: BatchMeterUsageCommandInput) =>
    client(e).send(new BatchMeterUsageCommand(input));
  const errorOf = (e: Emulator, input: BatchMeterUsageCommandInput) =>
    send(e, input).then(
      () => undefined,
      (err: Error) => err.name,
    );

  it('answers an identical resend with DuplicateRecord when identicalResendStatus is DuplicateRecord', async () => {
    const e = await boot({ identicalResendStatus: 'DuplicateRecord' });
    await send(e, { ProductCode: 'prod-a', UsageRecords: [legacy()] });
    const again = await send(e, { ProductCode: 'prod-a', UsageRecords: [legacy()] });
    expect(again.Results?.[0]?.Status).toBe('DuplicateRecord');
  });

  it('answers CustomerNotSubscribed for unknown customers in strict mode', async () => {
    const e = await boot({ strict: true, products: [{ productCode: 'prod-a', dimensions: ['requests'] }] });
    const out = await send(e, { ProductCode: 'prod-a', UsageRecords: [legacy()] });
    expect(out.Results?.[0]?.Status).toBe('CustomerNotSubscribed');
  });

  it('bills configured customers in strict mode', async () => {
    const e = await boot({
      strict: true,
      products: [{ productCode: 'prod-a', dimensions: ['requests'] }],
      customers: [{ productCode: 'prod-a', customerIdentifier: 'cust-1' }],
    });
    const out = await send(e, { ProductCode: 'prod-a', UsageRecords: [legacy()] });
    expect(out.Results?.[0]?.Status).toBe('Success');
  });

  it('refuses an unknown product in strict mode with InvalidProductCodeException', async () => {
    const e = await boot({ strict: true });
    expect(await errorOf(e, { ProductCode: 'prod-x', UsageRecords: [legacy()] })).toBe(
      'InvalidProductCodeException',
    );
  });

  it('refuses an unknown license in strict mode with InvalidLicenseException', async () => {
    const e = await boot({ strict: true });
    const record = legacy({
      CustomerIdentifier: undefined,
      CustomerAWSAccountId: '222222222222',
      LicenseArn: LICENSE_A,
    });
    expect(await errorOf(e, { UsageRecords: [record] })).toBe('InvalidLicenseException');
  });

  it('answers unknown customers with CustomerNotSubscribed when auto-subscribe is off', async () => {
    const e = await boot({ autoSubscribe: false });
    const out = await send(e, { ProductCode: 'prod-a', UsageRecords: [legacy()] });
    expect(out.Results?.[0]?.Status).toBe('CustomerNotSubscribed');
  });

  it('refuses unknown legacy customers with InvalidCustomerIdentifierException when configured to', async () => {
    const e = await boot({ autoSubscribe: false, unknownCustomerIdentifierException: true });
    expect(await errorOf(e, { ProductCode: 'prod-a', UsageRecords: [legacy()] })).toBe(
      'InvalidCustomerIdentifierException',
    );
  });

  it('answers DisabledApiException in a region that is not enabled', async () => {
    const e = await boot({ enabledRegions: ['us-east-1'] });
    const err = await client(e, { region: 'eu-west-1' })
      .send(new BatchMeterUsageCommand({ ProductCode: 'prod-a', UsageRecords: [legacy()] }))
      .catch((error: Error) => error.name);
    expect(err).toBe('DisabledApiException');
  });

  it('applies the 1 h window when selected', async () => {
    const e = await boot({ window: '1h' });
    expect(
      await errorOf(e, { ProductCode: 'prod-a', UsageRecords: [legacy({ Timestamp: at(NOW - HOUR) })] }),
    ).toBe('TimestampOutOfBoundsException');
  });
});
