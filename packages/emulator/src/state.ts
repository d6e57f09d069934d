/**
 * Everything the emulator holds in memory, and the reset that returns it to how it started.
 */
import { Catalog } from './catalog.js';
import { EmulatorClock } from './clock.js';
import { EmulatorConfigurationError } from './errors.js';
import { EventQueue } from './event-queue.js';
import { FaultInjector } from './faults.js';
import { LedgerStore } from './ledger.js';
import { type NotificationAction, Notifier } from './notifier.js';
import type { CustomerConfig, ResolvedOptions, SubscriptionState } from './options.js';
import { SeededRandom } from './random.js';
import { refsOf, Subscriptions, type SubscriptionView } from './subscriptions.js';
import { TokenStore } from './tokens.js';
import { UsageSigner } from './usage-signer.js';

/** A MeterUsage answer remembered under its ClientToken. */
/** What AWS Marketplace says when a customer moves into each state. */
const ACTION_OF_STATE: Readonly<Record<SubscriptionState, NotificationAction>> = {
  subscribed: 'subscribe-success',
  'subscribe-failed': 'subscribe-fail',
  'unsubscribe-pending': 'unsubscribe-pending',
  unsubscribed: 'unsubscribe-success',
};

export interface IdempotentAnswer {
  readonly fingerprint: string;
  readonly meteringRecordId: string;
}

/** @internal The emulator's state. */
export class EmulatorState {
  readonly options: ResolvedOptions;
  readonly clock: EmulatorClock;
  /** Request ids and metering record ids. Separate from faults so ids never shift fault draws. */
  readonly ids: SeededRandom;
  /** Fault draws. */
  readonly faultRandom: SeededRandom;
  /** Generated customers, accounts, licenses and tokens. */
  readonly generator: SeededRandom;
  readonly catalog: Catalog;
  readonly subscriptions: Subscriptions;
  readonly tokens: TokenStore;
  readonly ledger = new LedgerStore();
  readonly faults: FaultInjector;
  readonly signer = new UsageSigner();
  /** MeterUsage ClientTokens, per instance identity. */
  readonly clientTokens = new Map<string, IdempotentAnswer>();
  /** When the current RegisterUsage key version took over (answered for expired versions). */
  readonly keyRotatedAtMillis: number;
  /** Subscription notifications waiting for a consumer (SQS JSON protocol). */
  readonly queue: EventQueue;
  readonly notifier: Notifier;
  /** True while the configured customers load: those are the starting state, not changes to notify. */
  #loading = false;

  constructor(options: ResolvedOptions) {
    this.options = options;
    this.clock = new EmulatorClock(options.now);
    this.ids = new SeededRandom(options.seed ^ 0x5eed1d5);
    this.faultRandom = new SeededRandom(options.seed);
    this.generator = new SeededRandom(options.seed ^ 0x6e6e);
    this.catalog = new Catalog(options.strict);
    this.subscriptions = new Subscriptions(options.unsubscribeGraceMillis);
    this.tokens = new TokenStore();
    this.faults = new FaultInjector(options.faults, this.faultRandom, this.clock);
    this.keyRotatedAtMillis = this.clock.now();
    this.queue = new EventQueue(this.clock, this.ids);
    this.notifier = new Notifier(options.notifications, this.queue, this.ids);
    this.#loadConfiguration();
  }

  /** Back to the state right after start: configured products and customers, initial faults, clock offset 0. */
  reset(): void {
    this.clock.reset();
    this.ids.reseed(this.options.seed ^ 0x5eed1d5);
    this.faultRandom.reseed(this.options.seed);
    this.generator.reseed(this.options.seed ^ 0x6e6e);
    this.catalog.clear();
    this.subscriptions.clear();
    this.tokens.clear();
    this.ledger.clear();
    this.faults.reset();
    this.clientTokens.clear();
    this.queue.clear();
    this.notifier.reset();
    this.#loadConfiguration();
  }

  /**
   * Adds or updates a customer, registering its license (bound to the product and the account).
   *
   * @throws {EmulatorConfigurationError} for incomplete identifiers or, in strict mode, unknown products.
   */
  putCustomer(customer: CustomerConfig): SubscriptionView {
    if (customer.licenseArn !== undefined) {
      if (!customer.customerAWSAccountId) {
        throw new EmulatorConfigurationError('a customer with licenseArn also needs customerAWSAccountId');
      }
      if (
        this.options.strict &&
        customer.productCode === undefined &&
        !this.catalog.license(customer.licenseArn)
      ) {
        throw new EmulatorConfigurationError(
          `unknown license ${customer.licenseArn} (strict mode: give productCode or configure the product's licenseArns)`,
        );
      }
      this.catalog.putLicense({
        licenseArn: customer.licenseArn,
        productCode: customer.productCode,
        customerAWSAccountId: customer.customerAWSAccountId,
      });
    } else {
      if (!customer.productCode) {
        throw new EmulatorConfigurationError('a customer without licenseArn needs productCode');
      }
      if (!this.catalog.acceptsProduct(customer.productCode)) {
        throw new EmulatorConfigurationError(
          `unknown product ${customer.productCode} (strict mode: configure it first)`,
        );
      }
      this.catalog.noteUse({ productCode: customer.productCode });
    }
    const now = this.clock.now();
    const before = refsOf(customer)
      .map((ref) => this.subscriptions.find(ref, now))
      .find((found) => found !== undefined)?.state;
    const view = this.subscriptions.put(customer, now);
    if (!this.#loading && view.state !== before) {
      this.notifier.notify(ACTION_OF_STATE[view.state], view, now);
    }
    return view;
  }

  /** Sends `entitlement-updated` for a known customer (its state does not change). */
  updateEntitlement(customer: CustomerConfig): SubscriptionView {
    const now = this.clock.now();
    const view = refsOf(customer)
      .map((ref) => this.subscriptions.find(ref, now))
      .find((found) => found !== undefined);
    if (view === undefined) {
      throw new EmulatorConfigurationError(
        'entitlement update for an unknown customer: add it with putCustomer first (productCode + customerIdentifier, productCode + customerAWSAccountId, or licenseArn + customerAWSAccountId)',
      );
    }
    this.notifier.notify('entitlement-updated', view, now);
    return view;
  }

  #loadConfiguration(): void {
    this.#loading = true;
    try {
      for (const product of this.options.products) this.catalog.putProduct(product);
      for (const customer of this.options.customers) this.putCustomer(customer);
    } finally {
      this.#loading = false;
    }
  }
}
