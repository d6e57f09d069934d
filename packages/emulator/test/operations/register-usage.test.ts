import { createPublicKey, verify } from 'node:crypto';
import { RegisterUsageCommand, type RegisterUsageCommandInput } from '@aws-sdk/client-marketplace-metering';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Emulator } from '../../src/index.js';
import { client, NOW, start } from '../helpers.js';

describe('RegisterUsage', () => {
  let emulator: Emulator;
  const register = (input: RegisterUsageCommandInput) =>
    client(emulator).send(new RegisterUsageCommand(input));
  const errorOf = (input: RegisterUsageCommandInput) =>
    register(input).then(
      () => undefined,
      (e: Error) => e.name,
    );

  beforeAll(async () => {
    emulator = await start({
      publicKeyVersion: 2,
      products: [
        { productCode: 'prod-container', dimensions: ['tasks'] },
        { productCode: 'prod-closed', dimensions: ['tasks'], entitled: false },
      ],
      // RegisterUsage's quota is 5 calls/s and this clock is frozen: more than 5 calls would throttle.
      faults: { quota: false },
    });
  });
  afterAll(() => emulator.close());

  it('returns a JWT that verifies with the emulator public key', async () => {
    const { Signature } = await register({
      ProductCode: 'prod-container',
      PublicKeyVersion: 2,
      Nonce: 'n-1',
    });
    const [header, payload, signature] = Signature!.split('.') as [string, string, string];
    const valid = verify(
      'sha256',
      Buffer.from(`${header}.${payload}`),
      { key: createPublicKey(emulator.publicKey.pem), dsaEncoding: 'ieee-p1363' },
      Buffer.from(signature, 'base64url'),
    );
    expect(valid).toBe(true);
    expect(JSON.parse(Buffer.from(header, 'base64url').toString())).toEqual({
      alg: 'ES256',
      typ: 'JWT',
      kid: '2',
    });
    expect(JSON.parse(Buffer.from(payload, 'base64url').toString())).toEqual({
      productCode: 'prod-container',
      publicKeyVersion: 2,
      nonce: 'n-1',
      iat: NOW / 1000,
    });
  });

  it('records the registration with the caller identity', async () => {
    await register({ ProductCode: 'prod-container', PublicKeyVersion: 2 });
    expect(emulator.ledger.registrations().at(-1)).toMatchObject({
      productCode: 'prod-container',
      instanceId: 'AKIDEMULATORTEST',
      registeredAtMillis: NOW,
    });
  });

  it('adds PublicKeyRotationTimestamp for an expired key version', async () => {
    const out = await register({ ProductCode: 'prod-container', PublicKeyVersion: 1 });
    expect(out.PublicKeyRotationTimestamp).toEqual(new Date(NOW));
  });

  it('refuses a version above the current one with InvalidPublicKeyVersionException', async () => {
    expect(await errorOf({ ProductCode: 'prod-container', PublicKeyVersion: 3 })).toBe(
      'InvalidPublicKeyVersionException',
    );
  });

  it('refuses version 0 with ValidationException', async () => {
    expect(await errorOf({ ProductCode: 'prod-container', PublicKeyVersion: 0 })).toBe('ValidationException');
  });

  it('refuses a product the caller is not entitled to with CustomerNotEntitledException', async () => {
    expect(await errorOf({ ProductCode: 'prod-closed', PublicKeyVersion: 2 })).toBe(
      'CustomerNotEntitledException',
    );
  });
});
