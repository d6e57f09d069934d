import { type RegisteredCustomer, type SubscriptionChange } from '@meterkit/core';
import { registryKeyOf, subscribedSince } from '@meterkit/core/store';
import { describe, expect, it } from 'vitest';
import { alice, bob, PRODUCT } from '../helpers.js';

function entryWith(...changes: [SubscriptionChange['state'], number][]): RegisteredCustomer {
  const history = changes.map(([state, at]) => ({ state, at, source: 'sns' }));
  return {
    customer: alice,
    productCode: PRODUCT,
    accountId: undefined,
    state: history[history.length - 1]?.state ?? 'registered',
    freeTrial: false,
    registeredAt: 0,
    updatedAt: 0,
    history,
  };
}

describe('subscribedSince', () => {
  it('is the subscribe-success that began the current subscription', () => {
    expect(subscribedSince(entryWith(['registered', 1], ['subscribed', 5], ['unsubscribe-pending', 9]))).toBe(
      5,
    );
  });

  it('starts again at a subscribe-success after an unsubscribe', () => {
    expect(
      subscribedSince(
        entryWith(['subscribed', 5], ['unsubscribe-pending', 6], ['unsubscribed', 7], ['subscribed', 20]),
      ),
    ).toBe(20);
  });

  it('is undefined when the customer is not billable now', () => {
    expect(subscribedSince(entryWith(['subscribed', 5], ['unsubscribed', 7]))).toBeUndefined();
    expect(subscribedSince(entryWith(['registered', 1]))).toBeUndefined();
  });

  it('is undefined for an unsubscribe-pending never preceded by a subscribe-success', () => {
    expect(subscribedSince(entryWith(['unsubscribe-pending', 3]))).toBeUndefined();
  });
});

describe('registryKeyOf', () => {
  it('keys a license customer without its product code, and a legacy customer with it', () => {
    expect(registryKeyOf({ ...bob, productCode: 'prod-other' })).toBe(registryKeyOf(bob));
    expect(registryKeyOf({ ...alice, productCode: 'prod-other' })).not.toBe(registryKeyOf(alice));
  });
});
