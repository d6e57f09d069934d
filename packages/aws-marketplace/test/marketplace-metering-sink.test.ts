import { MarketplaceMeteringClient } from '@aws-sdk/client-marketplace-metering';
import { MeteringConfigurationError, type MeteringLogger, type UsageSink } from '@meterkit/core';
import { encodeAllocations } from '@meterkit/core/sink';
import { keyIdOf, sealRecord, tagSetIdOf } from '@meterkit/core/store';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MarketplaceMeteringSink } from '../src/marketplace-metering-sink.js';
import { HOUR_START, LICENSE_ARN, legacyRecord, licenseRecord, PRODUCT } from './helpers/records.js';
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

function recordsOf(call: ReceivedCall | undefined): Record<string, unknown>[] {
  return (call?.body.UsageRecords ?? []) as Record<string, unknown>[];
}

describe('MarketplaceMeteringSink limits', () => {
  it('batches at most 25 records and under 1 MB, as BatchMeterUsage allows', async () => {
    const { sink } = await setup();
    expect(sink.maxBatchSize).toBe(25);
    expect(sink.maxBatchBytes).toBe(1_000_000);
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

  it('splits a batch mixing license and legacy records into one call per kind and reports every record', async () => {
    // Prepare
    const { sink, service } = await setup();
    const license = licenseRecord();
    const legacy = legacyRecord();
    // Act
    const response = await sink.export([legacy, license], noSignal);
    // Assess
    expect(service.calls.map((c) => c.body.ProductCode)).toEqual([PRODUCT, undefined]);
    expect(recordsOf(service.calls[0])[0]).toHaveProperty('CustomerIdentifier', 'cust-alice');
    expect(recordsOf(service.calls[1])[0]).toHaveProperty('LicenseArn', LICENSE_ARN);
    expect(response).toEqual({
      status: 'done',
      outcomes: [
        { id: legacy.id, status: 'success', meteringRecordId: 'mr-0' },
        { id: license.id, status: 'success', meteringRecordId: 'mr-0' },
      ],
    });
  });

  it('reports the rest of a mixed batch as unprocessed when its second call is throttled', async () => {
    const { sink } = await setup((call, index) =>
      index === 0 ? allSucceed(call) : { error: 'ThrottlingException' },
    );
    const legacy = legacyRecord();
    const license = licenseRecord();
    const response = await sink.export([legacy, license], noSignal);
    expect(response).toEqual({
      status: 'done',
      outcomes: [
        { id: legacy.id, status: 'success', meteringRecordId: 'mr-0' },
        { id: license.id, status: 'unprocessed' },
      ],
    });
  });

  it('leaves out the rest of a mixed batch when its second call may have landed (connection lost)', async () => {
    // Prepare: the second call's answer never arrives, so AWS may have billed it.
    const { sink } = await setup((call, index) => (index === 0 ? allSucceed(call) : 'hang-up'));
    const legacy = legacyRecord();
    const license = licenseRecord();
    // Act
    const response = await sink.export([legacy, license], noSignal);
    // Assess: not 'unprocessed', which would tell the dispatcher it was certainly not billed.
    expect(response).toEqual({
      status: 'done',
      outcomes: [{ id: legacy.id, status: 'success', meteringRecordId: 'mr-0' }],
    });
  });

  it('reports a rejection of the first call of a mixed batch for the whole batch without sending the second', async () => {
    const { sink, service } = await setup(() => ({ error: 'InvalidUsageDimensionException' }));
    const response = await sink.export([legacyRecord(), licenseRecord()], noSignal);
    expect(response).toMatchObject({ status: 'rejected', code: 'InvalidUsageDimensionException' });
    expect(service.calls).toHaveLength(1);
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
    expect(sink.estimateRecordBytes(record)).toBeGreaterThanOrEqual(body - empty);
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
    expect(sink.estimateRecordBytes(record)).toBeGreaterThanOrEqual(body - empty);
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
    expect(sink.estimateRecordBytes(long)).toBeGreaterThanOrEqual(body - '{"UsageRecords":[]}'.length);
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
