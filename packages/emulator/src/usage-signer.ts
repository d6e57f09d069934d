/**
 * The RegisterUsage signing key: an ES256 (P-256) key pair generated when the emulator starts. The
 * public key is exposed so tests can verify the JWT a container receives.
 */
import { generateKeyPairSync, type JsonWebKey, type KeyObject, sign } from 'node:crypto';

/** The public half of the RegisterUsage signing key. */
export interface UsagePublicKey {
  /** SPKI PEM, usable with `crypto.verify` or any JWT library. */
  readonly pem: string;
  /** The same key as a JWK (`kty: 'EC'`, `crv: 'P-256'`). */
  readonly jwk: JsonWebKey;
  /** JWT `alg` header value. */
  readonly algorithm: 'ES256';
}

/** @internal */
export class UsageSigner {
  readonly #privateKey: KeyObject;
  readonly publicKey: UsagePublicKey;

  constructor() {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    this.#privateKey = privateKey;
    this.publicKey = {
      pem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
      jwk: publicKey.export({ format: 'jwk' }),
      algorithm: 'ES256',
    };
  }

  /** A compact JWS over `payload`, header `{alg: 'ES256', typ: 'JWT', kid}`. */
  sign(payload: Record<string, unknown>, keyId: string): string {
    const header = base64url(JSON.stringify({ alg: 'ES256', typ: 'JWT', kid: keyId }));
    const body = base64url(JSON.stringify(payload));
    // JWS wants the raw r||s signature, not DER.
    const signature = sign('sha256', Buffer.from(`${header}.${body}`), {
      key: this.#privateKey,
      dsaEncoding: 'ieee-p1363',
    });
    return `${header}.${body}.${signature.toString('base64url')}`;
  }
}

function base64url(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}
