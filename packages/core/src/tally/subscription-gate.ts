/** Each customer's subscription state, held in memory so the request path can ask it with one map lookup. */
import type { CustomerRef } from '../model/customer.js';
import { checkTags, tagSetIdOf, type UsageTags } from '../model/usage-tags.js';
import type { SubscriptionState } from '../registry/customer-registry.js';

/** What the request path does with a customer's usage. */
export type GateVerdict = 'count' | 'hold' | 'not-subscribed' | 'unsubscribed';

/** Usage of a customer whose subscription AWS has not confirmed yet, for one dimension and hour. */
export interface HeldUsage {
  readonly customer: CustomerRef;
  readonly dimension: string;
  readonly hourStart: number;
  quantity: number;
  /** The tags it was recorded with, counted under them when released (the tally drops invalid ones, with an event). */
  readonly tags?: UsageTags;
}

/**
 * Subscription states by customer, and the usage held for customers not confirmed yet. Legacy customers are keyed by
 * product code and identifier in nested maps (a joined string would allocate on every request); licenses by ARN.
 * A customer the gate has never heard of is counted as before: the gate only acts on what AWS told it.
 */
export class SubscriptionGate {
  private readonly licenses = new Map<string, SubscriptionState>();
  private readonly legacy = new Map<string, Map<string, SubscriptionState>>();
  private readonly held = new Map<string, HeldUsage>();
  private known = 0;

  constructor(private readonly defaultProductCode: string | undefined) {}

  /** Customers with a known state. Zero means the gate is not in use and costs the request path nothing. */
  get size(): number {
    return this.known;
  }

  /** Customers whose usage is held. */
  get heldEntries(): number {
    return this.held.size;
  }

  stateOf(customer: CustomerRef): SubscriptionState | undefined {
    if (customer.licenseArn !== undefined) return this.licenses.get(customer.licenseArn);
    const product = customer.productCode ?? this.defaultProductCode;
    return this.legacy.get(product as string)?.get(customer.customerIdentifier as string);
  }

  /** Sets the state; returns the previous one. */
  set(customer: CustomerRef, state: SubscriptionState): SubscriptionState | undefined {
    const previous = this.stateOf(customer);
    if (previous === undefined) this.known += 1;
    if (customer.licenseArn !== undefined) {
      this.licenses.set(customer.licenseArn, state);
      return previous;
    }
    const product = (customer.productCode ?? this.defaultProductCode) as string;
    let byId = this.legacy.get(product);
    if (byId === undefined) {
      byId = new Map();
      this.legacy.set(product, byId);
    }
    byId.set(customer.customerIdentifier as string, state);
    return previous;
  }

  /** What to do with this customer's usage now. */
  verdict(customer: CustomerRef): GateVerdict {
    switch (this.stateOf(customer)) {
      case undefined:
      case 'subscribed':
      case 'unsubscribe-pending':
        return 'count';
      case 'registered':
        return 'hold';
      case 'subscribe-failed':
        return 'not-subscribed';
      case 'unsubscribed':
        return 'unsubscribed';
    }
  }

  /** Adds usage to the held total of its key and hour; returns true when that key and hour is new. */
  hold(
    customer: CustomerRef,
    dimension: string,
    hourStart: number,
    quantity: number,
    tags?: UsageTags,
  ): boolean {
    // Held per tag set too, so released usage keeps its allocations; invalid tags share one entry (dropped on release).
    const tagPart = tags === undefined ? '' : checkTags(tags) === undefined ? tagSetIdOf(tags) : '!';
    const key = `${this.idOf(customer)}\n${dimension}\n${hourStart}\n${tagPart}`;
    const entry = this.held.get(key);
    if (entry !== undefined) {
      entry.quantity += quantity;
      return false;
    }
    this.held.set(
      key,
      tags === undefined
        ? { customer, dimension, hourStart, quantity }
        : { customer, dimension, hourStart, quantity, tags },
    );
    return true;
  }

  /** Removes and returns everything held for this customer. */
  takeHeld(customer: CustomerRef): HeldUsage[] {
    const prefix = `${this.idOf(customer)}\n`;
    const taken: HeldUsage[] = [];
    for (const [key, entry] of this.held) {
      if (key.startsWith(prefix)) {
        taken.push(entry);
        this.held.delete(key);
      }
    }
    return taken;
  }

  /** Removes and returns what is held for hours starting before `hourStart`. */
  takeHeldBefore(hourStart: number): HeldUsage[] {
    const taken: HeldUsage[] = [];
    for (const [key, entry] of this.held) {
      if (entry.hourStart < hourStart) {
        taken.push(entry);
        this.held.delete(key);
      }
    }
    return taken;
  }

  private idOf(customer: CustomerRef): string {
    return customer.licenseArn !== undefined
      ? JSON.stringify(['L', customer.licenseArn])
      : JSON.stringify(['C', customer.productCode ?? this.defaultProductCode, customer.customerIdentifier]);
  }
}
