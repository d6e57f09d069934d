import { createMarketplaceEventHandler, type MarketplaceEventOutcome } from '@meterkit/aws-marketplace';
import { createMeteringEngine, HOUR_MILLIS, silentLogger } from '@meterkit/core';
import { InMemorySink, ManualClock } from '@meterkit/core/testing';
import { TinyRegistry } from '@meterkit/test-support/tiny-registry';
import { beforeAll, describe, expect, it } from 'vitest';
import { PRODUCT } from './helpers/records.js';
import {
  createSigningAuthority,
  notification,
  type SigningAuthority,
  signEnvelope,
  TOPIC_ARN,
} from './helpers/sns-signing.js';

const LICENSE = 'arn:aws:license-manager::111122223333:license:l-0123456789abcdef';
const legacyMessage = (action: string, extra: Record<string, unknown> = {}) => ({
  action,
  'customer-identifier': 'cust-alice',
  'product-code': PRODUCT,
  'offer-identifier': 'offer-abc',
  ...extra,
});
const eventBridge = (detailType: string, extra: Record<string, unknown> = {}) => ({
  version: '0',
  id: `eb-${detailType}`,
  'detail-type': detailType,
  source: 'aws.agreement-marketplace',
  account: '287250355862',
  time: '2026-11-26T10:05:00Z',
  region: 'us-east-1',
  resources: [],
  detail: {
    requestId: 'r-1',
    agreement: { id: 'agmt-1', status: 'ACTIVE' },
    acceptor: { accountId: '111122223333' },
    product: { code: PRODUCT, title: 'Demo' },
    license: { licenseArn: LICENSE },
    somethingNew: { nested: true },
    ...extra,
  },
});

let authority: SigningAuthority;
beforeAll(() => {
  authority = createSigningAuthority();
});

/** A validly signed SNS SubscriptionConfirmation that asks for `subscribeUrl` to be fetched. */
function subscriptionConfirmation(subscribeUrl: string) {
  return signEnvelope(authority, {
    Type: 'SubscriptionConfirmation',
    MessageId: 'm-1',
    Token: 't0k',
    TopicArn: TOPIC_ARN,
    Message: 'You have chosen to subscribe to the topic',
    SubscribeURL: subscribeUrl,
    Timestamp: '2026-11-26T10:00:00.000Z',
  });
}

function setup(options: { productCodes?: string[] } = {}) {
  const clock = new ManualClock();
  const sink = new InMemorySink({ clock });
  const engine = createMeteringEngine({
    sink,
    productCode: PRODUCT,
    clock,
    timers: clock,
    logger: silentLogger,
    random: () => 0.5,
  });
  const registry = new TinyRegistry();
  const confirmed: string[] = [];
  const handler = createMarketplaceEventHandler({
    engine,
    registry,
    clock,
    certificateSource: async () => authority.certificatePem,
    confirmSubscription: async (url) => {
      confirmed.push(url);
    },
    ...options,
  });
  return { clock, sink, engine, registry, handler, confirmed };
}

const status = (outcome: MarketplaceEventOutcome) => outcome.status;

describe('handleMarketplaceEvent', () => {
  it('applies a signed SNS subscribe-success (SignatureVersion 2) to the registry and the engine', async () => {
    const { handler, registry, engine } = setup();
    const outcome = await handler.handleMarketplaceEvent(
      JSON.stringify(notification(authority, legacyMessage('subscribe-success'))),
    );
    expect(status(outcome)).toBe('applied');
    const customer = { customerIdentifier: 'cust-alice', productCode: PRODUCT };
    expect((await registry.get(customer))?.state).toBe('subscribed');
    expect(engine.subscriptionStateOf(customer)).toBe('subscribed');
  });

  it('accepts SignatureVersion 1 (SHA1)', async () => {
    const { handler } = setup();
    const outcome = await handler.handleMarketplaceEvent(
      notification(authority, legacyMessage('subscribe-success'), '1'),
    );
    expect(status(outcome)).toBe('applied');
  });

  it('refuses a message changed after signing', async () => {
    const { handler, registry } = setup();
    const signed = notification(authority, legacyMessage('subscribe-success'));
    const tampered = { ...signed, Message: JSON.stringify(legacyMessage('unsubscribe-success')) };
    expect(await handler.handleMarketplaceEvent(tampered)).toMatchObject({ status: 'unverified' });
    expect(registry.entries.size).toBe(0);
  });

  it('refuses a message signed by another key', async () => {
    const other = createSigningAuthority();
    const { handler } = setup();
    const outcome = await handler.handleMarketplaceEvent(
      notification(other, legacyMessage('subscribe-success')),
    );
    expect(outcome).toMatchObject({
      status: 'unverified',
      reason: 'the signature does not match the message',
    });
  });

  it.each([
    ['http://sns.us-east-1.amazonaws.com/cert.pem', 'SigningCertURL must use https'],
    [
      'https://sns.us-east-1.amazonaws.com.evil.example/cert.pem',
      'SigningCertURL must be on an sns.<region>.amazonaws.com host',
    ],
    [
      'https://evil.example/sns.us-east-1.amazonaws.com/cert.pem',
      'SigningCertURL must be on an sns.<region>.amazonaws.com host',
    ],
    ['https://sns.us-east-1.amazonaws.com/cert.txt', 'SigningCertURL must name a .pem file'],
    [
      'https://sns.us-east-1.amazonaws.com:8443/cert.pem',
      'SigningCertURL must be on an sns.<region>.amazonaws.com host',
    ],
  ])('refuses the signing certificate URL %s', async (url, reason) => {
    const { handler } = setup();
    const signed = { ...notification(authority, legacyMessage('subscribe-success')), SigningCertURL: url };
    expect(await handler.handleMarketplaceEvent(signed)).toEqual({ status: 'unverified', reason });
  });

  it('reads isFreeTrialTermPresent as the string "true"', async () => {
    const { handler } = setup();
    const outcome = await handler.handleMarketplaceEvent(
      notification(authority, legacyMessage('subscribe-success', { isFreeTrialTermPresent: 'true' })),
    );
    expect(outcome).toMatchObject({ status: 'applied', event: { freeTrial: true } });
  });

  it('refuses isFreeTrialTermPresent given as a boolean', async () => {
    const { handler } = setup();
    const outcome = await handler.handleMarketplaceEvent(
      notification(authority, legacyMessage('subscribe-success', { isFreeTrialTermPresent: true })),
    );
    expect(outcome).toMatchObject({ status: 'invalid' });
  });

  it('confirms an SNS subscription by fetching its SubscribeURL', async () => {
    const { handler, confirmed } = setup();
    const url = 'https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&Token=t0k';
    const envelope = subscriptionConfirmation(url);
    expect(await handler.handleMarketplaceEvent(envelope)).toEqual({
      status: 'confirmed',
      topicArn: TOPIC_ARN,
    });
    expect(confirmed).toEqual([url]);
  });

  it('does not fetch a SubscribeURL outside SNS, even in a validly signed confirmation', async () => {
    const { handler, confirmed } = setup();
    const envelope = subscriptionConfirmation('https://internal.example/admin?delete=all');
    expect(await handler.handleMarketplaceEvent(envelope)).toMatchObject({ status: 'invalid' });
    expect(confirmed).toEqual([]);
  });

  it('refuses an unsigned message unless the channel is trusted', async () => {
    const { handler } = setup();
    const raw = legacyMessage('subscribe-success');
    expect(status(await handler.handleMarketplaceEvent(raw))).toBe('unverified');
    expect(status(await handler.handleMarketplaceEvent(raw, { trusted: true }))).toBe('applied');
  });

  it('maps EventBridge agreement and license events onto the lifecycle, ignoring fields it does not know', async () => {
    const { handler, registry } = setup();
    const customer = { awsAccountId: '111122223333', licenseArn: LICENSE, productCode: PRODUCT };
    await handler.handleMarketplaceEvent(eventBridge('Purchase Agreement Created - Manufacturer'), {
      trusted: true,
    });
    expect((await registry.get(customer))?.state).toBe('subscribed');
    await handler.handleMarketplaceEvent(eventBridge('Purchase Agreement Ended - Manufacturer'), {
      trusted: true,
    });
    expect((await registry.get(customer))?.state).toBe('unsubscribe-pending');
    await handler.handleMarketplaceEvent(eventBridge('License Deprovisioned - Manufacturer'), {
      trusted: true,
    });
    expect((await registry.get(customer))?.history.map((h) => h.state)).toEqual([
      'subscribed',
      'unsubscribe-pending',
      'unsubscribed',
    ]);
  });

  it('treats License Updated as entitlement-updated, which changes no state', async () => {
    const { handler, registry } = setup();
    const outcome = await handler.handleMarketplaceEvent(eventBridge('License Updated - Manufacturer'), {
      trusted: true,
    });
    expect(outcome).toMatchObject({
      status: 'applied',
      event: { action: 'entitlement-updated' },
      state: undefined,
    });
    expect(registry.entries.size).toBe(0);
  });

  it('ignores EventBridge events that are not about subscriptions', async () => {
    const { handler } = setup();
    const outcome = await handler.handleMarketplaceEvent(eventBridge('Offer Released'), { trusted: true });
    expect(status(outcome)).toBe('ignored');
  });

  it('refuses an EventBridge event that names no license', async () => {
    const { handler } = setup();
    const outcome = await handler.handleMarketplaceEvent(
      eventBridge('Purchase Agreement Created - Manufacturer', { license: {} }),
      { trusted: true },
    );
    expect(outcome).toEqual({ status: 'invalid', reason: 'the event names no license ARN' });
  });

  it('ignores events for a product that is not ours', async () => {
    const { handler, registry } = setup({ productCodes: ['prod-other'] });
    const outcome = await handler.handleMarketplaceEvent(
      notification(authority, legacyMessage('subscribe-success')),
    );
    expect(status(outcome)).toBe('ignored');
    expect(registry.entries.size).toBe(0);
  });

  it('ignores an event older than one already applied for the customer', async () => {
    const { handler, registry } = setup();
    const customer = { customerIdentifier: 'cust-alice', productCode: PRODUCT };
    const later = signEnvelope(authority, {
      Type: 'Notification',
      MessageId: 'm-2',
      TopicArn: TOPIC_ARN,
      Message: JSON.stringify(legacyMessage('unsubscribe-pending')),
      Timestamp: '2026-11-26T10:30:00.000Z',
    });
    await handler.handleMarketplaceEvent(later);
    const outcome = await handler.handleMarketplaceEvent(
      notification(authority, legacyMessage('subscribe-success')),
    );
    expect(outcome).toMatchObject({ status: 'ignored', reason: expect.stringMatching(/^stale/) });
    expect((await registry.get(customer))?.state).toBe('unsubscribe-pending');
  });

  it('rejects when the registry fails, so AWS delivers the event again', async () => {
    const { handler, registry } = setup();
    registry.failNext = true;
    const signed = notification(authority, legacyMessage('subscribe-success'));
    await expect(handler.handleMarketplaceEvent(signed)).rejects.toThrow('registry unavailable');
    expect(status(await handler.handleMarketplaceEvent(signed))).toBe('applied');
  });

  it('sends the final hour at once on unsubscribe-pending and refuses usage after unsubscribe-success', async () => {
    const { handler, engine, sink, clock } = setup();
    await engine.start();
    const customer = { customerIdentifier: 'cust-alice', productCode: PRODUCT };
    await handler.handleMarketplaceEvent(notification(authority, legacyMessage('subscribe-success')));
    engine.record(customer, 'api_calls', 6);
    await clock.advance(10 * 60_000);
    await handler.handleMarketplaceEvent(notification(authority, legacyMessage('unsubscribe-pending')));
    expect([...sink.ledger.values()].map((b) => b.record.quantity)).toEqual([6]);
    await handler.handleMarketplaceEvent(notification(authority, legacyMessage('unsubscribe-success')));
    expect(engine.record(customer, 'api_calls')).toBe(false);
    await clock.advance(HOUR_MILLIS);
    await engine.shutdown();
  });
});
