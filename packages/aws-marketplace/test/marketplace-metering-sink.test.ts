import { MarketplaceMeteringClient } from '@aws-sdk/client-marketplace-metering';
import { MeteringConfigurationError, type MeteringLogger, type UsageSink } from '@meterkit/core';
import { encodeAllocations } from '@meterkit/core/sink';
import { keyIdOf, sealRecord, tagSetIdOf } from '@meterkit/core/store';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MarketplaceMeteringSink } from '../src/marketplace-metering-sink.js';
import { estimateRecordBytes } from '../src/record-size.js';
import { HOUR_START, LICENSE_ARN, legacyRecord, licenseRecord, PRODUCT, record } from './helpers/records.js';
import {
  allSucceed,
  type ReceivedCall,
  type ScriptedAnswer,
  startScriptedService,
} from './helpers/scripted-service.js';

const noSignal = { signal: new AbortController().signal };

function recordingLogger() {
  const warnings: string[] = [];
  const logger: MeteringLogger = { info() {}, warn: (m) => warnings.push(m), error() {} };
  return { logger, warnings };
}

let service: Awaited<ReturnType<typeof startScriptedService>> | undefined;
let sink: UsageSink | undefined;
afterEach(async () => {
  await sink?.shutdown?.();
  await service?.close();
  service = undefined;
  sink = undefined;
});

async function setup(answer: (call: ReceivedCall, index: number) => ScriptedAnswer = allSucceed) {
  service = await startScriptedService(answer);
  const { logger, warnings } = recordingLogger();
  const created = new MarketplaceMeteringSink({ clientConfig: service.clientConfig(), logger });
  sink = created;
  return { service, sink: created, warnings };
}

/** A legacy record with `allocations` tag sets of one tag whose value is `valueLength` characters, 1 unit each. */
function taggedRecord(customerIdentifier: string, allocations: number, valueLength: number) {
  const parts: [string, number][] = [];
  for (let i = 0; i < allocations; i++)
    parts.push([tagSetIdOf({ project: `${String(i).padStart(4, '0')}${'v'.repeat(valueLength - 4)}` }), 1]);
  const key = { productCode: PRODUCT, customerIdentifier, dimension: 'requests' };
  return sealRecord(keyIdOf(key), HOUR_START, allocations, encodeAllocations(parts));
}

function recordsOf(call: ReceivedCall | undefined): Record<string, unknown>[] {
  return (call?.body.UsageRecords ?? []) as Record<string, unknown>[];
}

describe('MarketplaceMeteringSink batches', () => {
  it('plans one call per product and kind of customer id, keeping the given order within each', () => {
    const sink = new MarketplaceMeteringSink({ clientConfig: { region: 'us-east-1' } });
    const other = record(
      { productCode: 'prod-other', customerIdentifier: 'cust-x', dimension: 'requests' },
      1,
    );
    const [a, b] = [legacyRecord('cust-a'), legacyRecord('cust-b')];
    const [l1, l2] = [
      licenseRecord('requests', 1, '111122223333'),
      licenseRecord('requests', 2, '444455556666'),
    ];
    expect(sink.planBatches([a, l1, other, b, l2])).toEqual([[a, b], [l1, l2], [other]]);
  });

  it('plans at most 25 records per call', () => {
    const sink = new MarketplaceMeteringSink({ clientConfig: { region: 'us-east-1' } });
    const records = Array.from({ length: 60 }, (_, i) => legacyRecord(`cust-${i}`));
    const batches = sink.planBatches(records);
    expect(batches.map((b) => b.length)).toEqual([25, 25, 10]);
    expect(batches.flat()).toEqual(records);
  });

  it('closes a call before its records could reach 1 MB', () => {
    const sink = new MarketplaceMeteringSink({ clientConfig: { region: 'us-east-1' } });
    // About 250 KB each by the size bound: 400 allocations with a 250-character tag value.
    const records = Array.from({ length: 12 }, (_, i) => taggedRecord(`cust-${i}`, 400, 250));
    const batches = sink.planBatches(records);
    expect(batches.flat()).toEqual(records);
    expect(batches.length).toBeGreaterThan(1);
    for (const batch of batches) {
      expect(batch.length).toBeGreaterThan(1);
      expect(batch.reduce((bytes, r) => bytes + estimateRecordBytes(r), 0)).toBeLessThan(1_000_000);
    }
  });
});

describe('MarketplaceMeteringSink requests', () => {
  it('sends a Concurrent Agreements record with account and license and without any ProductCode', async () => {
    // Prepare
    const { sink, service } = await setup();
    // Act
    await sink.export([licenseRecord('requests', 5)], noSignal);
    // Assess
    expect(service.calls).toHaveLength(1);
    expect(service.calls[0]?.operation).toBe('BatchMeterUsage');
    expect(service.calls[0]?.body).toEqual({
      UsageRecords: [
        {
          Timestamp: HOUR_START / 1000,
          CustomerAWSAccountId: '111122223333',
          LicenseArn: LICENSE_ARN,
          Dimension: 'requests',
          Quantity: 5,
        },
      ],
    });
  });

  it('sends a legacy record with CustomerIdentifier and the request-level ProductCode only', async () => {
    const { sink, service } = await setup();
    await sink.export([legacyRecord('cust-alice', 'requests', 7)], noSignal);
    expect(service.calls[0]?.body).toEqual({
      ProductCode: PRODUCT,
      UsageRecords: [
        {
          Timestamp: HOUR_START / 1000,
          CustomerIdentifier: 'cust-alice',
          Dimension: 'requests',
          Quantity: 7,
        },
      ],
    });
  });

  it('sends a batch as exactly one call', async () => {
    const { sink, service } = await setup();
    const records = [legacyRecord('cust-a'), legacyRecord('cust-b'), legacyRecord('cust-c')];
    const response = await sink.export(records, noSignal);
    expect(service.calls).toHaveLength(1);
    expect(recordsOf(service.calls[0])).toHaveLength(3);
    expect(response).toMatchObject({ status: 'done' });
  });

  it('refuses records of two kinds of customer id without sending anything, so the dispatcher splits them', async () => {
    const { sink, service } = await setup();
    const response = await sink.export([legacyRecord(), licenseRecord()], noSignal);
    expect(response).toMatchObject({ status: 'rejected', code: 'NotOneCall' });
    expect(service.calls).toHaveLength(0);
  });

  it('answers an empty batch without a call', async () => {
    const { sink, service } = await setup();
    expect(await sink.export([], noSignal)).toEqual({ status: 'done', outcomes: [] });
    expect(service.calls).toHaveLength(0);
  });

  it('passes the abort signal to the call, which then ends as retryable network trouble', async () => {
    // Prepare
    const { sink, service } = await setup(() => 'silence');
    const controller = new AbortController();
    // Act
    const pending = sink.export([licenseRecord()], { signal: controller.signal });
    await vi.waitFor(() => expect(service.calls).toHaveLength(1));
    controller.abort();
    // Assess
    await expect(pending).resolves.toMatchObject({ status: 'retryable', reason: 'network' });
  });

  it('sends each call once: the SDK does not retry a throttled call by itself', async () => {
    const { sink, service } = await setup(() => ({ error: 'ThrottlingException', message: 'Rate exceeded' }));
    const response = await sink.export([licenseRecord()], noSignal);
    expect(response).toMatchObject({ status: 'retryable', reason: 'throttled', code: 'ThrottlingException' });
    expect(service.calls).toHaveLength(1);
  });
});

describe('MarketplaceMeteringSink answers', () => {
  it('matches results to records by content, not by position', async () => {
    // Prepare: answer in reverse order, with distinct statuses.
    const { sink } = await setup((call) => {
      const [first, second] = recordsOf(call);
      return {
        json: {
          Results: [
            { UsageRecord: second, Status: 'DuplicateRecord' },
            { UsageRecord: first, MeteringRecordId: 'mr-first', Status: 'Success' },
          ],
        },
      };
    });
    const first = legacyRecord('cust-alice');
    const second = legacyRecord('cust-bob');
    // Act
    const response = await sink.export([first, second], noSignal);
    // Assess
    expect(response).toEqual({
      status: 'done',
      outcomes: [
        { id: second.id, status: 'duplicate' },
        { id: first.id, status: 'success', meteringRecordId: 'mr-first' },
      ],
    });
  });

  it('maps CustomerNotSubscribed to not-subscribed and UnprocessedRecords to unprocessed', async () => {
    const { sink } = await setup((call) => {
      const [first, second] = recordsOf(call);
      return {
        json: {
          Results: [{ UsageRecord: first, Status: 'CustomerNotSubscribed' }],
          UnprocessedRecords: [second],
        },
      };
    });
    const first = legacyRecord('cust-alice');
    const second = legacyRecord('cust-bob');
    const response = await sink.export([first, second], noSignal);
    expect(response).toEqual({
      status: 'done',
      outcomes: [
        { id: first.id, status: 'not-subscribed' },
        { id: second.id, status: 'unprocessed' },
      ],
    });
  });

  it('leaves out a record the answer does not name, so the dispatcher resends it', async () => {
    const { sink } = await setup((call) => ({
      json: { Results: [{ UsageRecord: recordsOf(call)[0], MeteringRecordId: 'mr-1', Status: 'Success' }] },
    }));
    const named = legacyRecord('cust-alice');
    const response = await sink.export([named, legacyRecord('cust-bob')], noSignal);
    expect(response).toEqual({
      status: 'done',
      outcomes: [{ id: named.id, status: 'success', meteringRecordId: 'mr-1' }],
    });
  });

  it('ignores a result whose quantity differs from every record sent', async () => {
    const { sink, warnings } = await setup((call) => ({
      json: { Results: [{ UsageRecord: { ...recordsOf(call)[0], Quantity: 999 }, Status: 'Success' }] },
    }));
    const response = await sink.export([legacyRecord('cust-alice', 'requests', 7)], noSignal);
    expect(response).toEqual({ status: 'done', outcomes: [] });
    expect(warnings.some((w) => w.includes('match none'))).toBe(true);
  });

  it('leaves out a record with a status it does not know, and warns', async () => {
    const { sink, warnings } = await setup((call) => ({
      json: { Results: [{ UsageRecord: recordsOf(call)[0], Status: 'SomethingNew' }] },
    }));
    const response = await sink.export([licenseRecord()], noSignal);
    expect(response).toEqual({ status: 'done', outcomes: [] });
    expect(warnings.some((w) => w.includes('unknown record status'))).toBe(true);
  });

  it.each([
    [{ error: 'ThrottlingException' }, { status: 'retryable', reason: 'throttled' }],
    [
      { error: 'InternalServiceErrorException', status: 500 },
      { status: 'retryable', reason: 'server-error' },
    ],
    ['hang-up' as const, { status: 'retryable', reason: 'network' }],
    [{ error: 'TimestampOutOfBoundsException' }, { status: 'rejected', tooOld: true }],
    [{ error: 'InvalidLicenseException' }, { status: 'rejected', code: 'InvalidLicenseException' }],
    [{ error: 'InvalidProductCodeException' }, { status: 'failed', code: 'InvalidProductCodeException' }],
    [{ error: 'UnrecognizedClientException' }, { status: 'failed', code: 'UnrecognizedClientException' }],
  ] as const)('turns the answer %j into %j without throwing', async (answer, expected) => {
    const { sink } = await setup(() => answer);
    await expect(sink.export([licenseRecord()], noSignal)).resolves.toMatchObject(expected);
  });
});

describe('MarketplaceMeteringSink record size', () => {
  it.each([
    ['plain ASCII', 'requests', 'cust-alice'],
    ['control characters', '\u0001\u0002\u001f'.repeat(80), '\u0000'.repeat(255)],
    ['emoji and accents', '😀é'.repeat(85), 'ü😀'.repeat(85)],
    ['lone surrogates', '\ud800'.repeat(255), '\udfff'.repeat(255)],
  ])('estimates at least the bytes a record takes on the wire (%s)', async (_case, dimension, customer) => {
    // Prepare: the same call with and without the record; the difference is what the record costs.
    const { sink, service } = await setup();
    const record = legacyRecord(customer, dimension, 2_147_483_647);
    // Act
    await sink.export([record], noSignal);
    // Assess
    const body = Buffer.byteLength(service.calls[0]?.rawBody ?? '');
    const empty = Buffer.byteLength(JSON.stringify({ ProductCode: PRODUCT, UsageRecords: [] }));
    expect(estimateRecordBytes(record)).toBeGreaterThanOrEqual(body - empty);
  });

  it('estimates a record with 2,500 allocations of the longest tags at least at its wire size', async () => {
    // Prepare: values full of `"`, the one character of the tag pattern JSON escapes.
    const { sink, service } = await setup();
    const parts: [string, number][] = [['', 1]];
    for (let i = 0; i < 2_499; i++) {
      const tags: Record<string, string> = {};
      for (let t = 0; t < 5; t++)
        tags[`${t}${'k'.repeat(99)}`] = `${String(i).padStart(4, '0')}${'"'.repeat(252)}`;
      parts.push([tagSetIdOf(tags), 1]);
    }
    const key = { productCode: PRODUCT, customerIdentifier: 'cust-alice', dimension: 'requests' };
    const record = sealRecord(keyIdOf(key), HOUR_START, 2_500, encodeAllocations(parts));
    // Act
    await sink.export([record], noSignal);
    // Assess
    const body = Buffer.byteLength(service.calls[0]?.rawBody ?? '');
    const empty = Buffer.byteLength(JSON.stringify({ ProductCode: PRODUCT, UsageRecords: [] }));
    expect(estimateRecordBytes(record)).toBeGreaterThanOrEqual(body - empty);
    const sent = recordsOf(service.calls[0])[0]?.UsageAllocations as unknown[];
    expect(sent).toHaveLength(2_500);
    expect(sent[0]).toEqual({ AllocatedUsageQuantity: 1 });
  });

  it('estimates a license record of the longest ARN the service allows above its wire size', async () => {
    const { sink, service } = await setup();
    const longArn = `arn:aws:license-manager::111122223333:license:l${'x'.repeat(1023)}`;
    const record = licenseRecord('requests', 1);
    const long = { ...record, key: { ...record.key, licenseArn: longArn } };
    await sink.export([long], noSignal);
    const body = Buffer.byteLength(service.calls[0]?.rawBody ?? '');
    expect(estimateRecordBytes(long)).toBeGreaterThanOrEqual(body - '{"UsageRecords":[]}'.length);
  });
});

describe('MarketplaceMeteringSink client', () => {
  it('builds its client from clientConfig with SDK retries off', async () => {
    const { sink } = await setup();
    expect(await sink.client.config.maxAttempts()).toBe(1);
  });

  it('honours AWS_ENDPOINT_URL_MARKETPLACE_METERING when no endpoint is configured', async () => {
    // Prepare
    service = await startScriptedService(allSucceed);
    vi.stubEnv('AWS_ENDPOINT_URL_MARKETPLACE_METERING', service.endpoint);
    try {
      const { endpoint: _unused, ...config } = service.clientConfig();
      sink = new MarketplaceMeteringSink({ clientConfig: config, logger: recordingLogger().logger });
      // Act
      const response = await sink.export([licenseRecord()], noSignal);
      // Assess
      expect(response.status).toBe('done');
      expect(service.calls).toHaveLength(1);
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('uses an injected client as it is and warns when it retries by itself', async () => {
    // Prepare
    service = await startScriptedService(allSucceed);
    const client = service.client({ maxAttempts: 3 });
    const { logger, warnings } = recordingLogger();
    // Act
    const injected = new MarketplaceMeteringSink({ client, logger });
    // Assess
    expect(injected.client).toBe(client);
    await vi.waitFor(() => expect(warnings.some((w) => w.includes('maxAttempts: 1'))).toBe(true));
    client.destroy();
  });

  it('does not warn about an injected client that sends each call once', async () => {
    service = await startScriptedService(allSucceed);
    const client = service.client({ maxAttempts: 1 });
    const { logger, warnings } = recordingLogger();
    const injected = new MarketplaceMeteringSink({ client, logger });
    await injected.export([licenseRecord()], noSignal);
    expect(warnings).toEqual([]);
    client.destroy();
  });

  it('refuses an injected client that is not an AWS SDK v3 client', () => {
    const notAClient = { meterUsage() {} } as unknown as MarketplaceMeteringClient;
    expect(() => new MarketplaceMeteringSink({ client: notAClient })).toThrow(MeteringConfigurationError);
  });

  it('refuses client and clientConfig together', () => {
    const client = new MarketplaceMeteringClient({ region: 'us-east-1' });
    expect(() => new MarketplaceMeteringSink({ client, clientConfig: { region: 'eu-west-1' } })).toThrow(
      /conflict/,
    );
    client.destroy();
  });
});
