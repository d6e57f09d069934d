import { afterEach, describe, expect, it } from 'vitest';
import { RegistrationTokenError, ResolveCustomerError } from '../src/registration-errors.js';
import { resolveCustomer } from '../src/resolve-customer.js';
import { LICENSE_ARN, PRODUCT } from './helpers/records.js';
import { type ScriptedAnswer, startScriptedService } from './helpers/scripted-service.js';

const TOKEN = 'tok+Abc/123==';

describe('resolveCustomer', () => {
  let service: Awaited<ReturnType<typeof startScriptedService>> | undefined;
  afterEach(async () => {
    await service?.close();
    service = undefined;
  });

  async function resolveWith(answer: ScriptedAnswer, token = TOKEN) {
    service = await startScriptedService(() => answer);
    return resolveCustomer(token, { clientConfig: service.clientConfig({ maxAttempts: 1 }) });
  }

  it('answers a Concurrent Agreements buyer with account, license and product', async () => {
    const customer = await resolveWith({
      json: {
        CustomerAWSAccountId: '111122223333',
        LicenseArn: LICENSE_ARN,
        ProductCode: PRODUCT,
        CustomerIdentifier: '',
      },
    });
    expect(customer).toEqual({ awsAccountId: '111122223333', licenseArn: LICENSE_ARN, productCode: PRODUCT });
    expect(service?.calls[0]).toMatchObject({
      operation: 'ResolveCustomer',
      body: { RegistrationToken: TOKEN },
    });
  });

  it('answers a legacy buyer with customer identifier and product', async () => {
    const customer = await resolveWith({ json: { CustomerIdentifier: 'cust-alice', ProductCode: PRODUCT } });
    expect(customer).toEqual({ customerIdentifier: 'cust-alice', productCode: PRODUCT });
  });

  it('throws an expired-token error telling the buyer to get a fresh token through "Set up your account"', async () => {
    const failure = resolveWith({
      error: 'ExpiredTokenException',
      message: 'Registration token has expired',
    });
    await expect(failure).rejects.toBeInstanceOf(RegistrationTokenError);
    await expect(failure).rejects.toMatchObject({
      code: 'ERR_METERING_REGISTRATION_TOKEN_EXPIRED',
      httpStatus: 400,
      buyerMessage: expect.stringContaining('Set up your account'),
    });
  });

  it('throws an invalid-token error for InvalidTokenException', async () => {
    await expect(resolveWith({ error: 'InvalidTokenException' })).rejects.toMatchObject({
      name: 'RegistrationTokenError',
      reason: 'invalid',
    });
  });

  it('treats expired seller credentials as the seller’s problem, not the buyer’s token', async () => {
    const failure = resolveWith({
      error: 'ExpiredTokenException',
      message: 'The security token included in the request is expired',
    });
    await expect(failure).rejects.toBeInstanceOf(ResolveCustomerError);
    await expect(failure).rejects.toMatchObject({ retryable: false, httpStatus: 502 });
  });

  it('throws a retryable error when throttled', async () => {
    await expect(resolveWith({ error: 'ThrottlingException' })).rejects.toMatchObject({
      name: 'ResolveCustomerError',
      retryable: true,
      httpStatus: 503,
      awsErrorName: 'ThrottlingException',
    });
  });

  it('throws a non-retryable error when the seller may not call ResolveCustomer', async () => {
    await expect(resolveWith({ error: 'AccessDeniedException', status: 403 })).rejects.toMatchObject({
      retryable: false,
      awsErrorName: 'AccessDeniedException',
    });
  });

  it('throws when the answer carries no customer identity', async () => {
    await expect(resolveWith({ json: { ProductCode: PRODUCT } })).rejects.toThrow(/nothing to bill/);
  });

  it('throws when the answer carries an account id that is not digits', async () => {
    await expect(
      resolveWith({ json: { CustomerAWSAccountId: 'abc', LicenseArn: LICENSE_ARN, ProductCode: PRODUCT } }),
    ).rejects.toThrow(/CustomerAWSAccountId/);
  });

  it('refuses a malformed token without calling AWS', async () => {
    await expect(resolveWith({ json: {} }, 'has space')).rejects.toMatchObject({ reason: 'malformed' });
    expect(service?.calls).toHaveLength(0);
  });
});
