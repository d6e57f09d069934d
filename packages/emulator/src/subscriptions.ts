/**
 * SaaS customers and their subscription state. A customer is identified per product in one of three
 * ways: legacy (product code + CustomerIdentifier), by account (product code + CustomerAWSAccountId),
 * or Concurrent Agreements (LicenseArn + CustomerAWSAccountId).
 */
import { EmulatorConfigurationError } from './errors.js';
import type { SubscriptionState } from './options.js';

/** How a record (or a control call) names a customer. */
export type CustomerRef =
  | { readonly kind: 'legacy'; readonly productCode: string; readonly customerIdentifier: string }
  | { readonly kind: 'account'; readonly productCode: string; readonly customerAWSAccountId: string }
  | { readonly kind: 'license'; readonly licenseArn: string; readonly customerAWSAccountId: string };

/** A customer as the emulator sees it. */
export interface SubscriptionView {
  readonly productCode?: string;
  readonly customerIdentifier?: string;
  readonly customerAWSAccountId?: string;
  readonly licenseArn?: string;
  readonly state: SubscriptionState;
  /** Emulator time of the last state change. */
  readonly stateChangedAtMillis: number;
  /** `true` when the customer was subscribed on first use (auto-subscribe). */
  readonly autoSubscribed: boolean;
  /** Whether records for this customer are billed right now. */
  readonly billable: boolean;
}

interface Subscription {
  productCode?: string;
  customerIdentifier?: string;
  customerAWSAccountId?: string;
  licenseArn?: string;
  state: SubscriptionState;
  stateChangedAtMillis: number;
  autoSubscribed: boolean;
}

const STATES: readonly SubscriptionState[] = [
  'subscribed',
  'unsubscribe-pending',
  'unsubscribed',
  'subscribe-failed',
];

/** @internal */
export class Subscriptions {
  #items: Subscription[] = [];
  readonly #graceMillis: number;

  constructor(unsubscribeGraceMillis: number) {
    this.#graceMillis = unsubscribeGraceMillis;
  }

  /** Adds a customer or updates its identifiers and state. */
  put(
    input: {
      productCode?: string;
      customerIdentifier?: string;
      customerAWSAccountId?: string;
      licenseArn?: string;
      state?: SubscriptionState;
    },
    nowMillis: number,
    autoSubscribed = false,
  ): SubscriptionView {
    const state = input.state ?? 'subscribed';
    if (!STATES.includes(state)) {
      throw new EmulatorConfigurationError(
        `state must be one of ${STATES.join(', ')}, got '${String(state)}'`,
      );
    }
    const refs = refsOf(input);
    if (refs.length === 0) {
      throw new EmulatorConfigurationError(
        'a customer needs productCode + customerIdentifier, productCode + customerAWSAccountId, or licenseArn + customerAWSAccountId',
      );
    }
    let item = refs.map((ref) => this.#find(ref)).find((found) => found !== undefined);
    if (!item) {
      item = { state, stateChangedAtMillis: nowMillis, autoSubscribed };
      this.#items.push(item);
    }
    item.productCode = input.productCode ?? item.productCode;
    item.customerIdentifier = input.customerIdentifier ?? item.customerIdentifier;
    item.customerAWSAccountId = input.customerAWSAccountId ?? item.customerAWSAccountId;
    item.licenseArn = input.licenseArn ?? item.licenseArn;
    if (item.state !== state) {
      item.state = state;
      item.stateChangedAtMillis = nowMillis;
    }
    item.autoSubscribed = item.autoSubscribed && autoSubscribed;
    return this.#view(item, nowMillis);
  }

  /** The customer named by `ref`, if known. */
  find(ref: CustomerRef, nowMillis: number): SubscriptionView | undefined {
    const item = this.#find(ref);
    return item ? this.#view(item, nowMillis) : undefined;
  }

  /** Every customer. */
  list(nowMillis: number): SubscriptionView[] {
    return this.#items.map((item) => this.#view(item, nowMillis));
  }

  /** Forgets every customer. */
  clear(): void {
    this.#items = [];
  }

  #find(ref: CustomerRef): Subscription | undefined {
    return this.#items.find((item) => matches(item, ref));
  }

  #view(item: Subscription, nowMillis: number): SubscriptionView {
    // unsubscribe-pending stays billable for the grace window (AWS: about one hour for final records).
    const billable =
      item.state === 'subscribed' ||
      (item.state === 'unsubscribe-pending' && nowMillis < item.stateChangedAtMillis + this.#graceMillis);
    return { ...item, billable };
  }
}

function matches(item: Subscription, ref: CustomerRef): boolean {
  switch (ref.kind) {
    case 'legacy':
      return item.productCode === ref.productCode && item.customerIdentifier === ref.customerIdentifier;
    case 'account':
      return item.productCode === ref.productCode && item.customerAWSAccountId === ref.customerAWSAccountId;
    case 'license':
      return item.licenseArn === ref.licenseArn && item.customerAWSAccountId === ref.customerAWSAccountId;
  }
}

/** Every way the given identifiers can name a customer. */
export function refsOf(input: {
  productCode?: string;
  customerIdentifier?: string;
  customerAWSAccountId?: string;
  licenseArn?: string;
}): CustomerRef[] {
  const refs: CustomerRef[] = [];
  if (input.licenseArn && input.customerAWSAccountId) {
    refs.push({
      kind: 'license',
      licenseArn: input.licenseArn,
      customerAWSAccountId: input.customerAWSAccountId,
    });
  }
  if (input.productCode && input.customerIdentifier) {
    refs.push({
      kind: 'legacy',
      productCode: input.productCode,
      customerIdentifier: input.customerIdentifier,
    });
  }
  if (input.productCode && input.customerAWSAccountId && !input.licenseArn) {
    refs.push({
      kind: 'account',
      productCode: input.productCode,
      customerAWSAccountId: input.customerAWSAccountId,
    });
  }
  return refs;
}
