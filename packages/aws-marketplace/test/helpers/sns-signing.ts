/** A test signing authority for SNS messages: a CA, a certificate it issued, and a signer. No network. */
import { execFileSync } from 'node:child_process';
import { createSign, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const CERT_URL = 'https://sns.us-east-1.amazonaws.com/SimpleNotificationService-test.pem';
export const TOPIC_ARN = 'arn:aws:sns:us-east-1:287250355862:aws-mp-subscription-notification-prod-abc123';

export interface SigningAuthority {
  /** PEM of the signing certificate (issued by the test CA). */
  readonly certificatePem: string;
  readonly privateKey: KeyObject;
}

/** A CA key and certificate, and a leaf certificate it signed, made with openssl in a temporary folder. */
export function createSigningAuthority(): SigningAuthority {
  const dir = mkdtempSync(join(tmpdir(), 'sns-ca-'));
  try {
    const pem = (k: KeyObject) => k.export({ type: 'pkcs8', format: 'pem' }) as string;
    const ca = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const leaf = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeFileSync(join(dir, 'ca.key'), pem(ca.privateKey));
    writeFileSync(join(dir, 'leaf.key'), pem(leaf.privateKey));
    const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    run(
      'req',
      '-new',
      '-x509',
      '-key',
      'ca.key',
      '-subj',
      '/CN=meterkit test CA',
      '-days',
      '2',
      '-out',
      'ca.pem',
    );
    run('req', '-new', '-key', 'leaf.key', '-subj', '/CN=sns.amazonaws.com', '-out', 'leaf.csr');
    run(
      'x509',
      '-req',
      '-in',
      'leaf.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '1',
      '-out',
      'leaf.pem',
    );
    return { certificatePem: readFileSync(join(dir, 'leaf.pem'), 'utf8'), privateKey: leaf.privateKey };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Signs an SNS envelope as SNS does (fields in their fixed order, `name\nvalue\n`). */
export function signEnvelope(
  authority: SigningAuthority,
  fields: Record<string, string>,
  version: '1' | '2' = '2',
): Record<string, string> {
  const order =
    fields.Type === 'Notification'
      ? ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type']
      : ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'];
  const text = order
    .filter((name) => fields[name] !== undefined)
    .map((name) => `${name}\n${fields[name]}\n`)
    .join('');
  const signer = createSign(version === '1' ? 'RSA-SHA1' : 'RSA-SHA256');
  signer.update(text, 'utf8');
  return {
    ...fields,
    SignatureVersion: version,
    Signature: signer.sign(authority.privateKey, 'base64'),
    SigningCertURL: CERT_URL,
  };
}

/** A signed SNS notification carrying a Marketplace subscription message. */
export function notification(
  authority: SigningAuthority,
  message: Record<string, unknown>,
  version: '1' | '2' = '2',
): Record<string, string> {
  return signEnvelope(
    authority,
    {
      Type: 'Notification',
      MessageId: `msg-${JSON.stringify(message).length}-${message.action}`,
      TopicArn: TOPIC_ARN,
      Message: JSON.stringify(message),
      Timestamp: '2026-11-26T10:05:00.000Z',
    },
    version,
  );
}
