/** A CustomerRegistry with an in-memory copy, so the request path finds a customer by app account without I/O. */

import type { MeteringLogger } from '../logging/logger.js';
import { silentLogger } from '../logging/logger.js';
import type { CustomerRef } from '../model/customer.js';
import { MeteringConfigurationError } from '../model/errors.js';
import { type Clock, systemClock, systemTimers, type TimerHandle, type Timers } from '../time/clock.js';
import type {
  CustomerRegistry,
  RegisteredCustomer,
  RegistrationInput,
  SubscriptionChange,
  SubscriptionState,
} from './customer-registry.js';
import { registryKeyOf } from './registry-entries.js';

/** Options of {@link CachedCustomerRegistry}. */
export interface CachedCustomerRegistryOptions {
  /**
   * How often the whole copy is reloaded, to see what other replicas wrote (what goes through this object is seen at
   * once). A miss also asks the registry in the background. @default 30000
   */
  refreshMillis?: number;
  clock?: Clock;
  timers?: Timers;
  logger?: MeteringLogger;
}

/** Accounts looked up and not found are not asked again for this long (per account), nor more than this many. */
const MISS_MEMORY = 10_000;

/**
 * Wraps a registry and keeps a copy of it in memory, refreshed by every write made through it and reloaded every
 * `refreshMillis`. {@link customerOfAccount} is a synchronous map lookup for the request path; pass this object (not
 * the wrapped one) to the registration route and the event handling so their writes show up at once.
 *
 * @example
 * ```ts
 * const registry = new CachedCustomerRegistry(new SqliteRegistry({ filename }));
 * await registry.open();
 * createMetering({ ..., registry, customer: customerFromAccount(registry, (req) => req.user?.accountId) });
 * ```
 */
export class CachedCustomerRegistry implements CustomerRegistry {
  readonly name: string;
  private readonly refreshMillis: number;
  private readonly clock: Clock;
  private readonly timers: Timers;
  private readonly logger: MeteringLogger;
  private byAccount = new Map<string, RegisteredCustomer>();
  private byKey = new Map<string, RegisteredCustomer>();
  private readonly misses = new Map<string, number>();
  private readonly fetching = new Set<string>();
  private timer: TimerHandle | undefined;
  private readonly reloadListeners = new Set<(changed: readonly RegisteredCustomer[]) => void>();
  private opened: Promise<void> | undefined;
  private closed = false;

  constructor(
    readonly inner: CustomerRegistry,
    options: CachedCustomerRegistryOptions = {},
  ) {
    if (inner === null || typeof inner !== 'object' || typeof inner.findByAccount !== 'function') {
      throw new MeteringConfigurationError(
        'ERR_METERING_INVALID_OPTION',
        'registry',
        'CachedCustomerRegistry wraps a CustomerRegistry (MemoryRegistry, SqliteRegistry, RedisRegistry).',
      );
    }
    const refreshMillis = options.refreshMillis ?? 30_000;
    if (!Number.isSafeInteger(refreshMillis) || refreshMillis < 100) {
      throw new MeteringConfigurationError(
        'ERR_METERING_INVALID_OPTION',
        'refreshMillis',
        `CachedCustomerRegistry option \`refreshMillis\` is ${JSON.stringify(refreshMillis)}, but it must be an integer of at least 100.`,
      );
    }
    this.name = `cached ${inner.name}`;
    this.refreshMillis = refreshMillis;
    this.clock = options.clock ?? systemClock;
    this.timers = options.timers ?? systemTimers;
    this.logger = options.logger ?? silentLogger;
  }

  /** Opens the wrapped registry, loads the copy and starts the reloads. Idempotent. */
  open(): Promise<void> {
    this.opened ??= (async () => {
      await this.inner.open?.();
      await this.refresh();
      this.arm();
    })();
    return this.opened;
  }

  /**
   * The customer linked to the app account `accountId`, from memory: no I/O, no promise. An account not in the copy
   * answers undefined now and is looked up in the background, so a replica that did not see the link learns it within
   * a request or two rather than at the next reload.
   */
  customerOfAccount(accountId: string | undefined | null): CustomerRef | undefined {
    return this.entryOfAccount(accountId)?.customer;
  }

  /** Like {@link customerOfAccount}, with the whole entry (state, free trial, history). */
  entryOfAccount(accountId: string | undefined | null): RegisteredCustomer | undefined {
    if (typeof accountId !== 'string' || accountId === '') return undefined;
    const entry = this.byAccount.get(accountId);
    if (entry === undefined) this.fetchInBackground(accountId);
    return entry;
  }

  /**
   * The entry of a Marketplace customer, from memory: no I/O, no promise (e.g. to check its state on the request path).
   * Undefined when the copy does not know it; nothing is looked up in the background.
   */
  entryOfCustomer(customer: CustomerRef): RegisteredCustomer | undefined {
    return this.byKey.get(registryKeyOf(customer));
  }

  /**
   * Reloads the whole copy from the wrapped registry, then tells the {@link onReload} listeners which customers'
   * subscription state changed (written by another replica). An entry written through this object while the reload
   * was under way is kept when it is newer than the one loaded.
   */
  async refresh(): Promise<void> {
    const entries = await this.inner.list();
    const previousByKey = this.byKey;
    const next = new Map<string, RegisteredCustomer>();
    const nextByKey = new Map<string, RegisteredCustomer>();
    const changed: RegisteredCustomer[] = [];
    for (const loaded of entries) {
      const key = registryKeyOf(loaded.customer, loaded.productCode);
      const known = previousByKey.get(key);
      const entry = known !== undefined && known.updatedAt > loaded.updatedAt ? known : loaded;
      nextByKey.set(key, entry);
      if (entry.accountId !== undefined) next.set(entry.accountId, entry);
      if (known?.state !== entry.state) changed.push(entry);
    }
    this.byAccount = next;
    this.byKey = nextByKey;
    this.misses.clear();
    if (changed.length === 0) return;
    for (const listener of this.reloadListeners) {
      try {
        listener(changed);
      } catch (error) {
        this.logger.error('a registry reload listener threw; ignored', {
          error: error instanceof Error ? error.message : String(error),
        });
      }
    }
  }

  /**
   * Calls `listener` after each reload with the entries whose subscription state is new to this copy (the first load
   * included): how a metering engine learns the changes other replicas wrote. Returns a function that removes it.
   */
  onReload(listener: (changed: readonly RegisteredCustomer[]) => void): () => void {
    this.reloadListeners.add(listener);
    return () => this.reloadListeners.delete(listener);
  }

  async register(input: RegistrationInput): Promise<RegisteredCustomer> {
    return this.remember(await this.inner.register(input));
  }

  async link(customer: CustomerRef, accountId: string): Promise<RegisteredCustomer> {
    return this.remember(await this.inner.link(customer, accountId));
  }

  async get(customer: CustomerRef): Promise<RegisteredCustomer | undefined> {
    const entry = await this.inner.get(customer);
    return entry === undefined ? undefined : this.remember(entry);
  }

  async findByAccount(accountId: string): Promise<RegisteredCustomer | undefined> {
    const entry = await this.inner.findByAccount(accountId);
    return entry === undefined ? undefined : this.remember(entry);
  }

  async setState(customer: CustomerRef, change: SubscriptionChange): Promise<RegisteredCustomer> {
    return this.remember(await this.inner.setState(customer, change));
  }

  list(filter?: { readonly states?: readonly SubscriptionState[] }): Promise<RegisteredCustomer[]> {
    return this.inner.list(filter);
  }

  /** Stops the reloads and closes the wrapped registry. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    await this.inner.close();
  }

  private remember(entry: RegisteredCustomer): RegisteredCustomer {
    const key = registryKeyOf(entry.customer, entry.productCode);
    const knownByKey = this.byKey.get(key);
    if (knownByKey === undefined || knownByKey.updatedAt <= entry.updatedAt) this.byKey.set(key, entry);
    if (entry.accountId !== undefined) {
      const known = this.byAccount.get(entry.accountId);
      // Keep the newer of two copies: a reload may race a write.
      if (known === undefined || known.updatedAt <= entry.updatedAt || !sameCustomer(known, entry)) {
        this.byAccount.set(entry.accountId, entry);
      }
      this.misses.delete(entry.accountId);
    }
    return entry;
  }

  private fetchInBackground(accountId: string): void {
    if (this.fetching.has(accountId) || this.closed) return;
    const missedAt = this.misses.get(accountId);
    const now = this.clock.now();
    if (missedAt !== undefined && now - missedAt < this.refreshMillis) return;
    if (this.misses.size >= MISS_MEMORY) this.misses.clear();
    this.misses.set(accountId, now);
    this.fetching.add(accountId);
    this.inner
      .findByAccount(accountId)
      .then((entry) => {
        if (entry !== undefined) this.remember(entry);
      })
      .catch((error: unknown) => {
        this.logger.warn('registry lookup by account failed; retried on a later request', {
          error: error instanceof Error ? error.message : String(error),
        });
      })
      .finally(() => this.fetching.delete(accountId));
  }

  private arm(): void {
    if (this.closed) return;
    this.timer = this.timers.setTimeout(() => {
      this.refresh()
        .catch((error: unknown) => {
          this.logger.warn('registry reload failed; the previous copy stays in use', {
            error: error instanceof Error ? error.message : String(error),
          });
        })
        .finally(() => this.arm());
    }, this.refreshMillis);
  }
}

function sameCustomer(a: RegisteredCustomer, b: RegisteredCustomer): boolean {
  return registryKeyOf(a.customer, a.productCode) === registryKeyOf(b.customer, b.productCode);
}

/**
 * A customer resolver for the adapters' `customer` option that finds the billed customer from your app's own account
 * id, through the in-memory copy of a {@link CachedCustomerRegistry}: synchronous and cheap, so it fits the request
 * path of both Nest (`(context) => …`) and Express (`(req) => …`).
 *
 * @example
 * ```ts
 * customer: customerFromAccount(registry, (req) => req.user?.accountId)
 * ```
 */
export function customerFromAccount<Source>(
  registry: CachedCustomerRegistry,
  accountOf: (source: Source) => string | undefined | null,
): (source: Source) => CustomerRef | undefined {
  if (!(registry instanceof CachedCustomerRegistry)) {
    throw new MeteringConfigurationError(
      'ERR_METERING_INVALID_OPTION',
      'customerFromAccount',
      'customerFromAccount() needs a CachedCustomerRegistry (wrap your registry: new CachedCustomerRegistry(registry)), so the lookup is a map read, not I/O on every request.',
    );
  }
  return (source) => registry.customerOfAccount(accountOf(source));
}
