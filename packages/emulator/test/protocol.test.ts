import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, MAX_BODY_BYTES } from '../src/index.js';
import { NOW, rawCall, start } from './helpers.js';

describe('awsJson1_1 framing', () => {
  let emulator: Emulator;
  beforeAll(async () => {
    emulator = await start({ faults: { quota: false } });
  });
  afterAll(() => emulator.close());

  it('answers with the awsJson content type and a request id', async () => {
    const res = await rawCall(emulator, 'BatchMeterUsage', { ProductCode: 'p', UsageRecords: [] });
    expect(res.headers.get('content-type')).toBe('application/x-amz-json-1.1');
    expect(res.headers.get('x-amzn-requestid')).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
  });

  it('encodes errors as __type and message with x-amzn-errortype', async () => {
    const res = await rawCall(emulator, 'ResolveCustomer', { RegistrationToken: 'nope' });
    expect(res.body).toEqual({ __type: 'InvalidTokenException', message: 'Registration token is invalid' });
    expect(res.headers.get('x-amzn-errortype')).toBe('InvalidTokenException');
  });

  it('answers timestamps as epoch seconds', async () => {
    const res = await rawCall(emulator, 'BatchMeterUsage', {
      ProductCode: 'p',
      UsageRecords: [{ CustomerIdentifier: 'c', Dimension: 'd', Timestamp: NOW / 1000 - 0.5 }],
    });
    expect((res.body.Results as { UsageRecord: { Timestamp: number } }[])[0]?.UsageRecord.Timestamp).toBe(
      NOW / 1000 - 0.5,
    );
  });

  it('answers UnknownOperationException for an unknown target', async () => {
    const res = await rawCall(emulator, 'GetEntitlements', {});
    expect([res.status, res.body.__type]).toEqual([400, 'UnknownOperationException']);
  });

  it('answers SerializationException for a body that is not JSON', async () => {
    const res = await rawCall(emulator, 'BatchMeterUsage', '{not json');
    expect(res.body.__type).toBe('SerializationException');
  });

  it('refuses a body of 1 MB or more with ValidationException', async () => {
    const res = await rawCall(emulator, 'BatchMeterUsage', {
      ProductCode: 'p',
      UsageRecords: [],
      pad: 'x'.repeat(MAX_BODY_BYTES),
    });
    expect([res.status, res.body.__type]).toEqual([400, 'ValidationException']);
  });

  it('logs every call with operation, status and error type', async () => {
    emulator.control.reset();
    await rawCall(emulator, 'ResolveCustomer', { RegistrationToken: 'nope' });
    expect(emulator.ledger.calls()).toEqual([
      expect.objectContaining({
        sequence: 1,
        operation: 'ResolveCustomer',
        statusCode: 400,
        errorType: 'InvalidTokenException',
        region: 'us-east-1',
      }),
    ]);
  });
});
