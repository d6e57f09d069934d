/**
 * Verifies the JWT RegisterUsage answers with: signed by the Marketplace key of the requested public key version, and
 * about this product and this running instance (its nonce), so a replayed or forged answer cannot start a container.
 */
import { constants, createPublicKey, type JsonWebKey, type KeyObject, verify } from 'node:crypto';
import { ContainerRegistrationError } from './container-registration-error.js';

/** A public key as a `KeyObject`, a PEM string (SPKI) or a JWK. */
export type UsageVerificationKey = KeyObject | string | JsonWebKey;

/** The claims of a verified RegisterUsage signature. */
export interface UsageSignatureClaims {
  readonly [claim: string]: unknown;
}

/** JWS algorithms accepted, with how Node verifies each. `none` and HMAC are never accepted. */
const ALGORITHMS: Readonly<Record<string, { hash: string; ecdsa: boolean; pss?: true }>> = {
  ES256: { hash: 'sha256', ecdsa: true },
  ES384: { hash: 'sha384', ecdsa: true },
  ES512: { hash: 'sha512', ecdsa: true },
  RS256: { hash: 'sha256', ecdsa: false },
  RS384: { hash: 'sha384', ecdsa: false },
  RS512: { hash: 'sha512', ecdsa: false },
  PS256: { hash: 'sha256', ecdsa: false, pss: true },
};

/** What the signature must be about. */
export interface ExpectedUsageSignature {
  readonly key: UsageVerificationKey;
  readonly publicKeyVersion: number;
  readonly productCode: string;
  readonly nonce: string;
}

/**
 * Checks a compact JWS: the algorithm is an asymmetric one, the signature verifies with `key`, a `kid` header (when
 * present) names the requested key version, and the `productCode`, `nonce` and `publicKeyVersion` claims (when
 * present) match the request. Returns the claims.
 * @throws {ContainerRegistrationError} with reason `invalid-signature`.
 */
export function verifyUsageSignature(token: string, expected: ExpectedUsageSignature): UsageSignatureClaims {
  const parts = token.split('.');
  if (parts.length !== 3) invalid('it is not a compact JWT (three dot-separated parts)');
  const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];
  const header = decodeJson(headerPart, 'header');
  const claims = decodeJson(payloadPart, 'payload');
  const algorithm = typeof header.alg === 'string' ? ALGORITHMS[header.alg] : undefined;
  if (algorithm === undefined) invalid(`algorithm ${String(header.alg)} is not accepted`);
  if (header.kid !== undefined && String(header.kid) !== String(expected.publicKeyVersion)) {
    invalid(`it was signed with key version ${String(header.kid)}, not ${expected.publicKeyVersion}`);
  }
  let key: KeyObject;
  try {
    key = toPublicKey(expected.key);
  } catch (error) {
    invalid(`the verification key cannot be read (${String(error)})`);
  }
  let valid = false;
  try {
    valid = verify(
      algorithm.hash,
      Buffer.from(`${headerPart}.${payloadPart}`),
      algorithm.ecdsa
        ? { key, dsaEncoding: 'ieee-p1363' }
        : algorithm.pss
          ? { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }
          : key,
      Buffer.from(signaturePart, 'base64url'),
    );
  } catch {
    valid = false;
  }
  if (!valid) invalid('the signature does not verify with the configured key');
  for (const [claim, wanted] of [
    ['productCode', expected.productCode],
    ['nonce', expected.nonce],
    ['publicKeyVersion', expected.publicKeyVersion],
  ] as const) {
    if (claims[claim] !== undefined && claims[claim] !== null && claims[claim] !== wanted) {
      invalid(
        `claim ${claim} is ${JSON.stringify(claims[claim])}, not this instance's ${JSON.stringify(wanted)}`,
      );
    }
  }
  return claims;
}

function toPublicKey(key: UsageVerificationKey): KeyObject {
  if (typeof key === 'string') return createPublicKey(key);
  if ('type' in key && typeof (key as KeyObject).export === 'function') {
    const object = key as KeyObject;
    return object.type === 'public' ? object : createPublicKey(object);
  }
  return createPublicKey({ key: key as JsonWebKey, format: 'jwk' });
}

function decodeJson(part: string, what: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    if (typeof value === 'object' && value !== null && !Array.isArray(value))
      return value as Record<string, unknown>;
  } catch {
    // Reported below.
  }
  return invalid(`its ${what} is not a JSON object`);
}

function invalid(why: string): never {
  throw new ContainerRegistrationError(
    'invalid-signature',
    `RegisterUsage answered with a signature that cannot be trusted: ${why}. The container must not start.`,
  );
}
