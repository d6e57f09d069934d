// Subscription notifications: what the emulator posts (signed SNS, EventBridge) as customers subscribe and unsubscribe.
import { createPublicKey, createVerify } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Emulator } from '../src/index.js';
import { start } from './helpers.js';

const LICENSE = 'arn:aws:license-manager::111122223333:license:l-0123456789abcdef';
const products = [{ productCode: 'prod-a', dimensions: ['requests'] }];

/** A local receiver that keeps every POST. */
async function receiver(): Promise<{
  url: string;
  posts: { headers: IncomingHttpHeaders; body: string }[];
  server: Server;
}> {
  const posts: { headers: IncomingHttpHeaders; body: string }[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      posts.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`, posts, server };
}

/** Checks an SNS envelope's signature the way SNS documents it, independently of meterkit's verifier. */
function snsSignatureValid(envelope: Record<string, string>, pem: string): boolean {
  const text = ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type']
    .filter((f) => envelope[f] !== undefined)
    .map((f) => `${f}\n${envelope[f]}\n`)
    .join('');
  const verifier = createVerify(envelope.SignatureVersion === '1' ? 'RSA-SHA1' : 'RSA-SHA256');
  verifier.update(text);
  return verifier.verify(createPublicKey(pem), envelope.Signature as string, 'base64');
}

describe('subscription notifications', () => {
  let emulator: Emulator;
  let server: Server | undefined;
  afterEach(async () => {
    await emulator?.close();
    server?.close();
    server = undefined;
  });

  it('posts a signed SNS subscribe-success when a customer subscribes through the control API', async () => {
    const target = await receiver();
    server = target.server;
    emulator = await start({ products, notifications: { url: target.url } });
    emulator.control.putCustomer({ productCode: 'prod-a', customerIdentifier: 'cust-1' });
    await emulator.notificationsSettled();
    expect(target.posts).toHaveLength(1);
    const post = target.posts[0]!;
    expect(post.headers['x-amz-sns-message-type']).toBe('Notification');
    const envelope = JSON.parse(post.body) as Record<string, string>;
    expect(snsSignatureValid(envelope, emulator.snsSigningKeyPem)).toBe(true);
    expect(envelope.SigningCertURL).toMatch(/^https:\/\/sns\.us-east-1\.amazonaws\.com\/.+\.pem$/);
    expect(JSON.parse(envelope.Message!)).toEqual({
      action: 'subscribe-success',
      'customer-identifier': 'cust-1',
      'product-code': 'prod-a',
      isFreeTrialTermPresent: 'false',
    });
  });

  it('posts unsubscribe-pending and unsubscribe-success as the state moves through the HTTP control API', async () => {
    const target = await receiver();
    server = target.server;
    emulator = await start({ products, notifications: { url: target.url } });
    for (const state of ['subscribed', 'unsubscribe-pending', 'unsubscribed']) {
      await fetch(`${emulator.endpoint}/_emulator/customers`, {
        method: 'POST',
        body: JSON.stringify({ productCode: 'prod-a', customerIdentifier: 'cust-1', state }),
      });
    }
    await emulator.notificationsSettled();
    const actions = target.posts.map((p) => JSON.parse(JSON.parse(p.body).Message).action);
    expect(actions).toEqual(['subscribe-success', 'unsubscribe-pending', 'unsubscribe-success']);
    expect(emulator.control.notifications().map((n) => n.delivery)).toEqual([200, 200, 200]);
  });

  it('sends nothing for the customers configured at start', async () => {
    const target = await receiver();
    server = target.server;
    emulator = await start({
      products,
      customers: [{ productCode: 'prod-a', customerIdentifier: 'cust-1' }],
      notifications: { url: target.url },
    });
    await emulator.notificationsSettled();
    expect(target.posts).toEqual([]);
  });

  it('posts an EventBridge event with the shared secret header for a license customer', async () => {
    const target = await receiver();
    server = target.server;
    emulator = await start({
      products,
      notifications: {
        url: target.url,
        format: 'eventbridge',
        secretHeader: { name: 'x-api-key', value: 's3cret' },
      },
    });
    emulator.control.putCustomer({
      productCode: 'prod-a',
      licenseArn: LICENSE,
      customerAWSAccountId: '111122223333',
    });
    await emulator.notificationsSettled();
    const post = target.posts[0]!;
    expect(post.headers['x-api-key']).toBe('s3cret');
    expect(JSON.parse(post.body)).toMatchObject({
      'detail-type': 'Purchase Agreement Created - Manufacturer',
      source: 'aws.agreement-marketplace',
      detail: {
        acceptor: { accountId: '111122223333' },
        license: { licenseArn: LICENSE },
        product: { code: 'prod-a' },
      },
    });
  });

  it('serves the SNS signing key for verifiers', async () => {
    emulator = await start({ products });
    const response = await fetch(`${emulator.endpoint}/_emulator/sns-signing-key.pem`);
    expect(await response.text()).toBe(emulator.snsSigningKeyPem);
  });

  it('refuses a notification URL that is not http(s)', async () => {
    emulator = await start({ products });
    expect(() => emulator.control.setNotifications({ url: 'ftp://x' })).toThrow(/http\(s\) URL/);
  });
});
