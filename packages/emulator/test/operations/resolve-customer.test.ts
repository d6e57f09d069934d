import { ResolveCustomerCommand } from '@aws-sdk/client-marketplace-metering';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Emulator } from '../../src/index.js';
import { client, HOUR, start } from '../helpers.js';

describe('ResolveCustomer', () => {
  let emulator: Emulator;
  const resolve = (token: string) =>
    client(emulator).send(new ResolveCustomerCommand({ RegistrationToken: token }));
  const errorOf = (token: string) =>
    resolve(token).then(
      () => undefined,
      (e: Error) => e.name,
    );

  beforeAll(async () => {
    emulator = await start({ products: [{ productCode: 'prod-saas', dimensions: ['users'] }] });
  });
  beforeEach(() => emulator.control.reset());
  afterAll(() => emulator.close());

  it('answers account, license and product for a Concurrent Agreements token', async () => {
    const issued = emulator.control.issueToken();
    const out = await resolve(issued.token);
    expect(out).toMatchObject({
      CustomerAWSAccountId: issued.customerAWSAccountId,
      LicenseArn: issued.licenseArn,
      ProductCode: 'prod-saas',
    });
    expect(out.CustomerIdentifier).toBeUndefined();
  });

  it('answers customer identifier and product for a legacy token', async () => {
    const issued = emulator.control.issueToken({ kind: 'legacy' });
    const out = await resolve(issued.token);
    expect(out).toMatchObject({ CustomerIdentifier: issued.customerIdentifier, ProductCode: 'prod-saas' });
    expect(out.LicenseArn).toBeUndefined();
  });

  it('gives the same answer to repeated calls with one token', async () => {
    const { token } = emulator.control.issueToken();
    const { $metadata: _a, ...first } = await resolve(token);
    const { $metadata: _b, ...second } = await resolve(token);
    expect(second).toEqual(first);
    expect(emulator.control.tokens()[0]?.resolveCount).toBe(2);
  });

  it('subscribes the customer a token was issued for', () => {
    const issued = emulator.control.issueToken();
    expect(emulator.control.customers()).toMatchObject([
      {
        licenseArn: issued.licenseArn,
        customerAWSAccountId: issued.customerAWSAccountId,
        state: 'subscribed',
      },
    ]);
  });

  it('refuses an expired token with ExpiredTokenException after the 4 h TTL', async () => {
    const { token } = emulator.control.issueToken();
    emulator.control.clock.advance(4 * HOUR);
    expect(await errorOf(token)).toBe('ExpiredTokenException');
  });

  it('accepts a token just before its TTL ends', async () => {
    const { token } = emulator.control.issueToken({ ttlMillis: 1000 });
    emulator.control.clock.advance(999);
    expect(await errorOf(token)).toBeUndefined();
  });

  it('refuses an unknown token with InvalidTokenException', async () => {
    expect(await errorOf('not-a-token')).toBe('InvalidTokenException');
  });
});
