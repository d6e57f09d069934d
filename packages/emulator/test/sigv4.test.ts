import {
  BatchMeterUsageCommand,
  MarketplaceMeteringClient,
  type MarketplaceMeteringClientConfig,
} from '@aws-sdk/client-marketplace-metering';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, signRequest } from '../src/index.js';
import { at, CREDENTIALS, NOW, rawCall, start } from './helpers.js';

const input = {
  ProductCode: 'prod-a',
  UsageRecords: [{ CustomerIdentifier: 'c', Dimension: 'd', Quantity: 1, Timestamp: at(NOW - 60_000) }],
};

describe('SigV4 without configured credentials', () => {
  let emulator: Emulator;
  beforeAll(async () => {
    emulator = await start();
  });
  afterAll(() => emulator.close());

  it('answers MissingAuthenticationTokenException when the Authorization header is missing', async () => {
    const res = await rawCall(emulator, 'BatchMeterUsage', {}, { authorization: '' });
    expect([res.status, res.body.__type]).toEqual([400, 'MissingAuthenticationTokenException']);
  });

  it('answers InvalidSignatureException for a credential scoped to another service', async () => {
    const c = new MarketplaceMeteringClient({
      endpoint: emulator.endpoint,
      region: 'us-east-1',
      credentials: CREDENTIALS,
      maxAttempts: 1,
      signingName: 'metering.marketplace',
    } as MarketplaceMeteringClientConfig);
    const error = await c.send(new BatchMeterUsageCommand(input)).catch((e) => e);
    expect([error.name, error.message, error.$metadata.httpStatusCode]).toEqual([
      'InvalidSignatureException',
      "Credential should be scoped to correct service: 'aws-marketplace'",
      400,
    ]);
  });

  it('answers IncompleteSignatureException for a malformed Authorization header', async () => {
    const res = await rawCall(
      emulator,
      'BatchMeterUsage',
      {},
      { authorization: 'AWS4-HMAC-SHA256 Credential=x' },
    );
    expect(res.body.__type).toBe('IncompleteSignatureException');
  });
});

describe('SigV4 with configured credentials', () => {
  let emulator: Emulator;
  const sdk = (secretAccessKey: string, accessKeyId = CREDENTIALS.accessKeyId) =>
    new MarketplaceMeteringClient({
      endpoint: emulator.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId, secretAccessKey },
      maxAttempts: 1,
    });
  beforeAll(async () => {
    emulator = await start({ credentials: CREDENTIALS });
  });
  afterAll(() => emulator.close());

  it('accepts a request the real SDK signed with the right secret', async () => {
    const out = await sdk(CREDENTIALS.secretAccessKey).send(new BatchMeterUsageCommand(input));
    expect(out.Results?.[0]?.Status).toBe('Success');
  });

  it('answers InvalidSignatureException for a request signed with the wrong secret', async () => {
    const error = await sdk('wrong-secret')
      .send(new BatchMeterUsageCommand(input))
      .catch((e) => e);
    expect([error.name, error.$metadata.httpStatusCode]).toEqual(['InvalidSignatureException', 400]);
  });

  it('answers UnrecognizedClientException for an unknown access key', async () => {
    const error = await sdk('any', 'AKIDUNKNOWN')
      .send(new BatchMeterUsageCommand(input))
      .catch((e) => e);
    expect(error.name).toBe('UnrecognizedClientException');
  });

  it('refuses a signed request whose body was changed after signing', async () => {
    const body = Buffer.from(JSON.stringify({ ProductCode: 'prod-a', UsageRecords: [] }));
    const url = new URL(emulator.endpoint);
    const headers = {
      host: url.host,
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': 'AWSMPMeteringService.BatchMeterUsage',
    };
    const signed = signRequest(
      { method: 'POST', url: '/', headers, body },
      { ...CREDENTIALS, region: 'us-east-1' },
    );
    const send = (payload: Buffer) =>
      fetch(emulator.endpoint, { method: 'POST', headers: { ...headers, ...signed }, body: payload }).then(
        (r) => r.status,
      );
    const tampered = Buffer.from(JSON.stringify({ ProductCode: 'prod-b', UsageRecords: [] }));
    expect([await send(body), await send(tampered)]).toEqual([200, 400]);
  });
});
