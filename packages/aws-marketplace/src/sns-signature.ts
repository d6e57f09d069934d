/** Verifies the signature of an Amazon SNS message (SignatureVersion 1: RSA-SHA1, 2: RSA-SHA256). */
import { createPublicKey, createVerify, type KeyObject } from 'node:crypto';

/** The JSON document SNS posts (HTTP/S subscription) or puts into an SQS queue (non-raw delivery). */
export interface SnsEnvelope {
  readonly Type: 'Notification' | 'SubscriptionConfirmation' | 'UnsubscribeConfirmation';
  readonly MessageId: string;
  readonly TopicArn: string;
  readonly Message: string;
  readonly Timestamp: string;
  readonly SignatureVersion: string;
  readonly Signature: string;
  readonly SigningCertURL: string;
  readonly Subject?: string;
  readonly SubscribeURL?: string;
  readonly Token?: string;
  readonly UnsubscribeURL?: string;
}

/**
 * Returns the PEM (an X.509 certificate, or a public key) at a signing certificate URL. The default fetches it over
 * HTTPS; tests and the emulator inject their own.
 */
export type CertificateSource = (url: string) => Promise<string>;

export type SnsVerification = { readonly valid: true } | { readonly valid: false; readonly reason: string };

/** Only SNS itself serves signing certificates: `https://sns.<region>.amazonaws.com[.cn]/….pem`. */
const SIGNING_HOST = /^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$/;

/** Fields signed, in the order SNS signs them, per message type. */
const SIGNED_FIELDS: Record<SnsEnvelope['Type'], readonly (keyof SnsEnvelope)[]> = {
  Notification: ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type'],
  SubscriptionConfirmation: [
    'Message',
    'MessageId',
    'SubscribeURL',
    'Timestamp',
    'Token',
    'TopicArn',
    'Type',
  ],
  UnsubscribeConfirmation: ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'],
};

/** Why a signing certificate URL is not SNS's, or undefined when it is. */
export function checkSigningCertUrl(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'SigningCertURL is not a URL';
  }
  if (url.protocol !== 'https:') return 'SigningCertURL must use https';
  if (!SIGNING_HOST.test(url.hostname) || url.port !== '') {
    return 'SigningCertURL must be on an sns.<region>.amazonaws.com host';
  }
  if (!url.pathname.endsWith('.pem')) return 'SigningCertURL must name a .pem file';
  return undefined;
}

/** The exact text SNS signed for this message. */
export function snsStringToSign(envelope: SnsEnvelope): string {
  let text = '';
  for (const field of SIGNED_FIELDS[envelope.Type]) {
    const value = envelope[field];
    // Subject is signed only when present.
    if (value === undefined) continue;
    text += `${field}\n${value}\n`;
  }
  return text;
}

/** Fetches certificates over HTTPS and keeps them for the process: SNS rotates them rarely. */
export function httpsCertificateSource(fetchImpl: typeof fetch = fetch): CertificateSource {
  const cache = new Map<string, Promise<string>>();
  return (url) => {
    let pem = cache.get(url);
    if (pem === undefined) {
      pem = fetchImpl(url).then(async (response) => {
        if (!response.ok) throw new Error(`fetching the SNS signing certificate answered ${response.status}`);
        return response.text();
      });
      // A failed fetch must not be remembered.
      pem.catch(() => cache.delete(url));
      cache.set(url, pem);
    }
    return pem;
  };
}

/**
 * Checks an SNS message's signature: the certificate URL must be SNS's own (whatever source fetches it), the
 * signature version 1 or 2, and the RSA signature must match the signed fields. Never throws.
 */
export async function verifySnsSignature(
  envelope: SnsEnvelope,
  certificateSource: CertificateSource,
): Promise<SnsVerification> {
  const urlProblem = checkSigningCertUrl(envelope.SigningCertURL);
  if (urlProblem !== undefined) return { valid: false, reason: urlProblem };
  const algorithm =
    envelope.SignatureVersion === '1'
      ? 'RSA-SHA1'
      : envelope.SignatureVersion === '2'
        ? 'RSA-SHA256'
        : undefined;
  if (algorithm === undefined) return { valid: false, reason: 'SignatureVersion must be 1 or 2' };
  if (SIGNED_FIELDS[envelope.Type] === undefined) return { valid: false, reason: 'unknown message Type' };
  let key: KeyObject;
  try {
    key = createPublicKey(await certificateSource(envelope.SigningCertURL));
  } catch (error) {
    return {
      valid: false,
      reason: `the signing certificate could not be read: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
  const verifier = createVerify(algorithm);
  verifier.update(snsStringToSign(envelope), 'utf8');
  const ok = verifier.verify(key, envelope.Signature, 'base64');
  return ok ? { valid: true } : { valid: false, reason: 'the signature does not match the message' };
}
