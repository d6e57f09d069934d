import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { verifyUsageSignature } from '../src/usage-signature.js';

const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const EXPECTED = { key: publicKey, publicKeyVersion: 3, productCode: 'prod-c', nonce: 'n-1' };

function jwt(header: object, payload: object, key: KeyObject = privateKey): string {
  const encoded = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
  const signature = sign('sha256', Buffer.from(encoded), { key, dsaEncoding: 'ieee-p1363' });
  return `${encoded}.${signature.toString('base64url')}`;
}

const reasonOf = (token: string) => {
  try {
    verifyUsageSignature(token, EXPECTED);
    return 'verified';
  } catch (error) {
    return (error as { reason?: string }).reason;
  }
};

describe('verifyUsageSignature', () => {
  it('returns the claims of a token signed with the key, for this product and nonce', () => {
    const claims = verifyUsageSignature(
      jwt({ alg: 'ES256', kid: '3' }, { productCode: 'prod-c', nonce: 'n-1' }),
      EXPECTED,
    );
    expect(claims).toEqual({ productCode: 'prod-c', nonce: 'n-1' });
  });

  it.each([
    ['another key version', jwt({ alg: 'ES256', kid: '2' }, { nonce: 'n-1' })],
    ['another nonce (a replayed answer)', jwt({ alg: 'ES256' }, { nonce: 'n-0' })],
    ['another product', jwt({ alg: 'ES256' }, { productCode: 'prod-other' })],
    ['alg none', `${Buffer.from('{"alg":"none"}').toString('base64url')}.e30.`],
    ['a tampered payload', jwt({ alg: 'ES256' }, { nonce: 'n-1' }).replace(/\.[^.]+\./, '.e30.')],
    ['a token of two parts', 'abc.def'],
    [
      'a signature of another key',
      jwt({ alg: 'ES256' }, {}, generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey),
    ],
  ])('refuses %s', (_case, token) => {
    expect(reasonOf(token)).toBe('invalid-signature');
  });

  it('accepts the key as PEM and as JWK', () => {
    const token = jwt({ alg: 'ES256' }, {});
    const pem = publicKey.export({ format: 'pem', type: 'spki' }).toString();
    expect(verifyUsageSignature(token, { ...EXPECTED, key: pem })).toEqual({});
    expect(verifyUsageSignature(token, { ...EXPECTED, key: publicKey.export({ format: 'jwk' }) })).toEqual(
      {},
    );
  });
});

describe('verifyUsageSignature with RSA keys', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });

  it.each([
    ['RS256', {}],
    ['PS256', { padding: 6, saltLength: 32 }],
  ])('verifies %s', (alg, padding) => {
    const encoded = `${Buffer.from(JSON.stringify({ alg })).toString('base64url')}.${Buffer.from('{"nonce":"n-1"}').toString('base64url')}`;
    const signature = sign('sha256', Buffer.from(encoded), { key: rsa.privateKey, ...padding });
    const token = `${encoded}.${signature.toString('base64url')}`;
    expect(verifyUsageSignature(token, { ...EXPECTED, key: rsa.publicKey })).toEqual({ nonce: 'n-1' });
  });
});
