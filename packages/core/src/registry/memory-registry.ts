/** A CustomerRegistry in this process's memory: for tests, demos and single-instance apps that keep buyers elsewhere. */
import type { CustomerRef } from '../model/customer.js';
import type {
  CustomerRegistry,
  RegisteredCustomer,
  RegistrationInput,
  SubscriptionChange,
  SubscriptionState,
} from './customer-registry.js';
import {
  compareEntries,
  entryWithChange,
  linkedEntry,
  matchesFilter,
  registeredEntry,
  registryKeyOf,
} from './registry-entries.js';

/**
 * Keeps buyers in memory: they are gone when the process exits, so use `@meterkit/sqlite` or `@meterkit/redis` for
 * anything that must survive a restart. Every method runs to completion without yielding, so each is atomic.
 *
 * @example
 * ```ts
 * const registry = new MemoryRegistry();
 * await registry.register({ customer, productCode: 'prod-abc', at: Date.now() });
 * ```
 */
export class MemoryRegistry implements CustomerRegistry {
  readonly name = 'memory';
  private readonly entries = new Map<string, RegisteredCustomer>();
  private readonly keyByAccount = new Map<string, string>();

  async register(input: RegistrationInput): Promise<RegisteredCustomer> {
    const key = registryKeyOf(input.customer, input.productCode);
    const { entry } = registeredEntry(this.entries.get(key), input);
    this.entries.set(key, entry);
    return entry;
  }

  async link(customer: CustomerRef, accountId: string): Promise<RegisteredCustomer> {
    const key = registryKeyOf(customer);
    const existing = this.entries.get(key);
    const { entry } = linkedEntry(
      existing,
      key,
      accountId,
      this.keyByAccount.get(accountId),
      existing?.updatedAt ?? 0,
    );
    this.entries.set(key, entry);
    this.keyByAccount.set(accountId, key);
    return entry;
  }

  async get(customer: CustomerRef): Promise<RegisteredCustomer | undefined> {
    return this.entries.get(registryKeyOf(customer));
  }

  async findByAccount(accountId: string): Promise<RegisteredCustomer | undefined> {
    const key = this.keyByAccount.get(accountId);
    return key === undefined ? undefined : this.entries.get(key);
  }

  async setState(customer: CustomerRef, change: SubscriptionChange): Promise<RegisteredCustomer> {
    const key = registryKeyOf(customer);
    const { entry } = entryWithChange(this.entries.get(key), customer, change);
    this.entries.set(key, entry);
    return entry;
  }

  async list(filter?: { readonly states?: readonly SubscriptionState[] }): Promise<RegisteredCustomer[]> {
    return [...this.entries.values()].filter((e) => matchesFilter(e, filter)).sort(compareEntries);
  }

  async close(): Promise<void> {}
}
