/** Subscription effects: states learnt from AWS or the registry, usage held until a subscription is confirmed. */
import { type CustomerRef, redact } from '../model/customer.js';
import { MeteringError } from '../model/errors.js';
import type { MeteringEventEmitter } from '../model/events.js';
import { messages } from '../model/messages.js';
import type { UsageTags } from '../model/usage-tags.js';
import { CachedCustomerRegistry } from '../registry/cached-registry.js';
import type {
  CustomerRegistry,
  RegisteredCustomer,
  SubscriptionState,
} from '../registry/customer-registry.js';
import type { GateVerdict, HeldUsage, SubscriptionGate } from '../tally/subscription-gate.js';
import type { Tally } from '../tally/tally.js';
import { hourStartOf } from '../time/hours.js';
import type { BackgroundLog } from './background-log.js';
import type { ResolvedMeteringOptions } from './options.js';

/**
 * Applies what AWS says about subscriptions to the gate the request path asks, and to the usage it holds: counted
 * once confirmed, reported (never dropped silently) when it cannot be billed.
 */
export class Subscriptions {
  private stopFollowingRegistry: (() => void) | undefined;

  constructor(
    private readonly options: Pick<ResolvedMeteringOptions, 'clock' | 'logger'>,
    private readonly events: MeteringEventEmitter,
    private readonly gate: SubscriptionGate,
    private readonly tally: Tally,
    private readonly log: BackgroundLog,
    /** On `unsubscribe-pending`: seal the open hour and send it now (the engine does so only while running). */
    private readonly sealOpenHourNow: () => Promise<void>,
  ) {}

  /** The state last learnt for `customer`, or undefined when the gate never heard of it. */
  stateOf(customer: CustomerRef): SubscriptionState | undefined {
    return this.gate.size === 0 ? undefined : this.gate.stateOf(customer);
  }

  /**
   * Opens the registry and loads every customer's subscription state, so that after a restart an unsubscribed
   * customer's usage is still refused and an unconfirmed one's still held. A registry that fails here fails the start
   * (`ERR_METERING_REGISTRY_UNAVAILABLE`): serving without the states would bill usage AWS refuses or must not see.
   * With a {@link CachedCustomerRegistry}, the changes its reloads find (other replicas' writes) are applied too.
   */
  async load(registry: CustomerRegistry): Promise<void> {
    let entries: RegisteredCustomer[];
    try {
      await registry.open?.();
      entries = await registry.list();
    } catch (error) {
      throw new MeteringError(
        'ERR_METERING_REGISTRY_UNAVAILABLE',
        messages.registryUnavailable(registry.name, error),
        { cause: error },
      );
    }
    this.restore(entries);
    if (registry instanceof CachedCustomerRegistry) {
      this.stopFollowingRegistry = registry.onReload((changed) => {
        for (const entry of changed) {
          this.apply(entry.customer, entry.state, 'registry').catch((error) =>
            this.log.reportError('subscription', error),
          );
        }
      });
    }
  }

  /** Stops applying the registry's reloads (shutdown). */
  stopFollowing(): void {
    this.stopFollowingRegistry?.();
  }

  /** Sets states without the effects of a change (no seal, nothing released). */
  restore(customers: Iterable<Pick<RegisteredCustomer, 'customer' | 'state'>>): void {
    for (const entry of customers) this.gate.set(entry.customer, entry.state);
  }

  /** Applies a change of state and its effects (see `MeteringEngine.applySubscriptionChange`). Idempotent. */
  async apply(customer: CustomerRef, state: SubscriptionState, source: string): Promise<void> {
    const from = this.gate.set(customer, state);
    if (from === state) return;
    this.events.emit('subscription.changed', {
      customer: redact(customer.licenseArn ?? customer.customerIdentifier),
      from,
      to: state,
      source,
    });
    if (state === 'subscribed') {
      const currentHour = hourStartOf(this.options.clock.now());
      const held = this.gate.takeHeld(customer);
      for (const entry of held) {
        if (entry.hourStart >= currentHour)
          this.tally.record(entry.customer, entry.dimension, entry.quantity, entry.hourStart, entry.tags);
      }
      this.releaseHeld(
        held.filter((entry) => entry.hourStart < currentHour),
        'not-subscribed',
      );
    } else if (state === 'subscribe-failed') {
      this.releaseHeld(this.gate.takeHeld(customer), 'subscribe-failed');
    } else if (state === 'unsubscribe-pending') {
      await this.sealOpenHourNow();
    }
  }

  /** The request path for a customer the gate does not simply count. */
  recordGated(
    verdict: Exclude<GateVerdict, 'count'>,
    customer: CustomerRef,
    dimension: string,
    quantity: number | undefined,
    at: number | undefined,
    tags: UsageTags | undefined,
  ): boolean {
    if (verdict === 'hold') {
      const units = quantity ?? 1;
      if (!(Number.isSafeInteger(units) && units >= 0))
        return this.tally.record(customer, dimension, quantity, at, tags);
      const hourStart = hourStartOf(at ?? this.options.clock.now());
      if (this.gate.hold(customer, dimension, hourStart, units, tags)) {
        this.events.emit('usage.held', {
          customer: redact(customer.licenseArn ?? customer.customerIdentifier),
          dimension,
          hourStart,
        });
      }
      return true;
    }
    this.events.emit('usage.rejected', {
      reason: verdict,
      dimension,
      quantity,
      detail:
        verdict === 'unsubscribed'
          ? 'AWS said unsubscribe-success: it accepts no further records for this customer'
          : 'the subscription failed (subscribe-fail): AWS bills nothing for this customer',
    });
    return false;
  }

  /** Held usage of hours that ended before `hourStart` without `subscribe-success`: reported, not billed. */
  releaseHeldBefore(hourStart: number): void {
    if (this.gate.heldEntries > 0) this.releaseHeld(this.gate.takeHeldBefore(hourStart), 'not-subscribed');
  }

  private releaseHeld(entries: readonly HeldUsage[], reason: 'not-subscribed' | 'subscribe-failed'): void {
    for (const entry of entries) {
      // Never dropped silently: the event carries it, and the log says so.
      this.options.logger.warn('usage held for an unconfirmed subscription is not billed', {
        customer: redact(entry.customer.licenseArn ?? entry.customer.customerIdentifier),
        dimension: entry.dimension,
        units: entry.quantity,
        reason,
      });
      this.events.emit('usage.not-billed', {
        customer: redact(entry.customer.licenseArn ?? entry.customer.customerIdentifier),
        dimension: entry.dimension,
        hourStart: entry.hourStart,
        units: entry.quantity,
        reason,
      });
    }
  }
}
