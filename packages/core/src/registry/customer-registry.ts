/** The registry of buyers: who registered, which app account they are linked to, and where their subscription stands. */
import type { CustomerRef } from '../model/customer.js';

/**
 * Where a buyer's subscription stands, as AWS Marketplace last told us.
 * - `registered`: the registration token was resolved; AWS has not said `subscribe-success` yet, so usage is not
 *   billable yet.
 * - `subscribed`: bill.
 * - `unsubscribe-pending`: about one hour left to send the final records.
 * - `unsubscribed`: AWS accepts no further records for this customer.
 * - `subscribe-failed`: do not meter.
 */
export type SubscriptionState =
  | 'registered'
  | 'subscribed'
  | 'unsubscribe-pending'
  | 'unsubscribed'
  | 'subscribe-failed';

/** One entry of a customer's subscription history. */
export interface SubscriptionChange {
  readonly state: SubscriptionState;
  /** Epoch milliseconds. */
  readonly at: number;
  /** What told us: `registration`, `sns`, `eventbridge`, `operator`, … */
  readonly source: string;
  readonly detail?: string;
  /**
   * Set when the message said whether a free-trial term is present (SNS `isFreeTrialTermPresent`, a string there):
   * the entry's `freeTrial` flag takes this value.
   */
  readonly freeTrial?: boolean;
}

export interface RegisteredCustomer {
  /** The identifiers ResolveCustomer returned, with `productCode` set. */
  readonly customer: CustomerRef;
  readonly productCode: string;
  /** The app's own account id, once linked; one app account per customer and one customer per app account. */
  readonly accountId: string | undefined;
  readonly state: SubscriptionState;
  /** The buyer came through a free-trial offer (`x-amzn-marketplace-offer-type=free-trial`). */
  readonly freeTrial: boolean;
  readonly registeredAt: number;
  readonly updatedAt: number;
  /** Oldest first. */
  readonly history: readonly SubscriptionChange[];
}

/** What {@link CustomerRegistry.register} is given: the customer ResolveCustomer returned, at the time `at`. */
export interface RegistrationInput {
  readonly customer: CustomerRef;
  readonly productCode: string;
  readonly freeTrial?: boolean;
  readonly at: number;
}

/**
 * Buyers, keyed by their Marketplace identity (account + license ARN, or product code + legacy customer identifier).
 * Every method is atomic with respect to every other caller (other processes too, for a shared registry).
 * Implementations must pass the registry contract suite in `@meterkit/core`'s test kit.
 */
export interface CustomerRegistry {
  readonly name: string;
  open?(): Promise<void>;
  /**
   * Adds a buyer after ResolveCustomer, in state `registered` (or keeps the state it already has: a
   * `subscribe-success` may arrive before the buyer finishes registering). Idempotent: the same customer again returns
   * the existing entry.
   */
  register(input: RegistrationInput): Promise<RegisteredCustomer>;
  /**
   * Links the app's own account to the customer. Idempotent for the same pair; throws a `MeteringError` with code
   * `ERR_METERING_REGISTRY_CONFLICT` when either side is already linked to another, and
   * `ERR_METERING_REGISTRY_UNKNOWN_CUSTOMER` when the customer was never registered.
   */
  link(customer: CustomerRef, accountId: string): Promise<RegisteredCustomer>;
  get(customer: CustomerRef): Promise<RegisteredCustomer | undefined>;
  findByAccount(accountId: string): Promise<RegisteredCustomer | undefined>;
  /**
   * Adds a state change to the history (kept in order of `at`, so a message delivered late does not undo a newer one)
   * and makes the latest change current. The same change (state, `at` and source) twice is recorded once: SNS and SQS
   * deliver at least once. Creates the entry when the customer is unknown.
   */
  setState(customer: CustomerRef, change: SubscriptionChange): Promise<RegisteredCustomer>;
  list(filter?: { readonly states?: readonly SubscriptionState[] }): Promise<RegisteredCustomer[]>;
  close(): Promise<void>;
}
