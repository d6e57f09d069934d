/** A CustomerRegistry in Redis: every replica sees the same buyers, and uniqueness holds across replicas. */
import { createHash } from 'node:crypto';
import {
  type CustomerRef,
  type CustomerRegistry,
  MeteringConfigurationError,
  MeteringError,
  type RegisteredCustomer,
  type RegistrationInput,
  type SubscriptionChange,
  type SubscriptionState,
} from '@meterkit/core';
import {
  compareEntries,
  entryFromJson,
  entryWithChange,
  linkedEntry,
  matchesFilter,
  registeredEntry,
  registryKeyOf,
} from '@meterkit/core/store';
import { Redis } from 'ioredis';
import type { RedisClient } from './lua-script.js';

/** Options of {@link RedisRegistry}. Give `url` or `client`, not both. */
export interface RedisRegistryOptions {
  /** Where to connect. @default 'redis://127.0.0.1:6379' */
  url?: string;
  /** A connected ioredis client (`Redis` or `Cluster`); the registry never closes a client it was given. */
  client?: RedisClient;
  /** Names this registry's data; keys look like `{mkr:<keyPrefix>}:…` (one Redis Cluster slot). @default 'meterkit' */
  keyPrefix?: string;
}

/**
 * Writes an entry only if it is still what the caller read (compare-and-set on the stored text), and claims the
 * entry's app account in the same step, refusing it when another customer holds it. KEYS: entry, account index, id set.
 * ARGV: text read ('' when absent), new text, account id ('' when none), registry key.
 * Returns 1 (written), 0 (the entry changed meanwhile: read again), -1 (the account belongs to another customer).
 */
const COMPARE_AND_SET = `
local current = redis.call('GET', KEYS[1]) or ''
if current ~= ARGV[1] then return 0 end
if ARGV[3] ~= '' then
  local owner = redis.call('GET', KEYS[2])
  if owner and owner ~= ARGV[4] then return -1 end
  redis.call('SET', KEYS[2], ARGV[4])
end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('SADD', KEYS[3], ARGV[4])
return 1
`;
const COMPARE_AND_SET_SHA = createHash('sha1').update(COMPARE_AND_SET).digest('hex');
/** Rounds of read, decide, compare-and-set before giving up under extreme contention on one customer. */
const MAX_ROUNDS = 50;

function invalid(field: string, value: unknown, rule: string): never {
  const shown = typeof value === 'object' && value !== null ? 'an object' : JSON.stringify(value);
  throw new MeteringConfigurationError(
    'ERR_METERING_INVALID_OPTION',
    field,
    `RedisRegistry option \`${field}\` is ${shown}, but it must be ${rule}.`,
  );
}

/**
 * Keeps buyers in Redis 6.2+ / 7 or Valkey. Each write reads the entry, applies the registry rules in this process,
 * and stores the result with a compare-and-set script that also claims the app account, so concurrent writers on any
 * replica never overwrite each other and never link one account to two customers.
 *
 * @example
 * ```ts
 * const registry = new RedisRegistry({ url: process.env.REDIS_URL, keyPrefix: 'my-product' });
 * ```
 * @throws {MeteringConfigurationError} for invalid options.
 */
export class RedisRegistry implements CustomerRegistry {
  readonly name = 'redis';
  readonly keyPrefix: string;
  /** The hash tag every key of this registry starts with, e.g. `{mkr:meterkit}`. */
  readonly keyBase: string;
  private readonly client: RedisClient;
  private readonly ownsClient: boolean;
  private closed = false;

  constructor(options: RedisRegistryOptions = {}) {
    if (options === null || typeof options !== 'object') invalid('options', options, 'an object');
    for (const key of Object.keys(options)) {
      if (!['url', 'client', 'keyPrefix'].includes(key)) {
        throw new MeteringConfigurationError(
          'ERR_METERING_UNKNOWN_OPTION',
          key,
          `Unknown RedisRegistry option \`${key}\`. Known options: url, client, keyPrefix.`,
        );
      }
    }
    if (options.url !== undefined && options.client !== undefined) {
      throw new MeteringConfigurationError(
        'ERR_METERING_CONFLICTING_OPTIONS',
        'client',
        'RedisRegistry options `url` and `client` conflict: give the URL to connect to, or a client already set up, not both.',
      );
    }
    if (
      options.url !== undefined &&
      (typeof options.url !== 'string' || !/^rediss?:\/\//.test(options.url))
    ) {
      invalid('url', options.url, 'a redis:// or rediss:// URL');
    }
    const keyPrefix = options.keyPrefix ?? 'meterkit';
    if (typeof keyPrefix !== 'string' || keyPrefix.length === 0 || /[{}]/.test(keyPrefix)) {
      invalid(
        'keyPrefix',
        keyPrefix,
        'a non-empty string without { or } (the registry adds its own hash tag)',
      );
    }
    this.keyPrefix = keyPrefix;
    this.keyBase = `{mkr:${keyPrefix}}`;
    if (options.client !== undefined) {
      this.client = options.client;
      this.ownsClient = false;
    } else {
      this.client = new Redis(options.url ?? 'redis://127.0.0.1:6379');
      this.ownsClient = true;
      this.client.on('error', () => undefined);
    }
  }

  async register(input: RegistrationInput): Promise<RegisteredCustomer> {
    return this.update(registryKeyOf(input.customer, input.productCode), async (existing) =>
      registeredEntry(existing, input),
    );
  }

  async link(customer: CustomerRef, accountId: string): Promise<RegisteredCustomer> {
    const key = registryKeyOf(customer);
    return this.update(key, async (existing) => {
      const owner = typeof accountId === 'string' ? await this.client.get(this.accountKey(accountId)) : null;
      return linkedEntry(existing, key, accountId, owner ?? undefined, existing?.updatedAt ?? 0);
    });
  }

  async get(customer: CustomerRef): Promise<RegisteredCustomer | undefined> {
    const text = await this.client.get(this.entryKey(registryKeyOf(customer)));
    return text === null ? undefined : entryFromJson(text);
  }

  async findByAccount(accountId: string): Promise<RegisteredCustomer | undefined> {
    const key = await this.client.get(this.accountKey(accountId));
    if (key === null) return undefined;
    const text = await this.client.get(this.entryKey(key));
    return text === null ? undefined : entryFromJson(text);
  }

  async setState(customer: CustomerRef, change: SubscriptionChange): Promise<RegisteredCustomer> {
    return this.update(registryKeyOf(customer), async (existing) =>
      entryWithChange(existing, customer, change),
    );
  }

  async list(filter?: { readonly states?: readonly SubscriptionState[] }): Promise<RegisteredCustomer[]> {
    const keys = await this.client.smembers(`${this.keyBase}:ids`);
    const entries: RegisteredCustomer[] = [];
    for (let from = 0; from < keys.length; from += 500) {
      const texts = await this.client.mget(...keys.slice(from, from + 500).map((k) => this.entryKey(k)));
      for (const text of texts) {
        if (text === null) continue;
        const entry = entryFromJson(text);
        if (matchesFilter(entry, filter)) entries.push(entry);
      }
    }
    return entries.sort(compareEntries);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.ownsClient) await (this.client as Redis).quit().catch(() => this.client.disconnect());
  }

  private entryKey(key: string): string {
    return `${this.keyBase}:c:${key}`;
  }

  private accountKey(accountId: string): string {
    return `${this.keyBase}:a:${accountId}`;
  }

  /** Read, decide, compare-and-set; again when another writer got in between. */
  private async update(
    key: string,
    decide: (
      existing: RegisteredCustomer | undefined,
    ) => Promise<{ entry: RegisteredCustomer; changed: boolean }>,
  ): Promise<RegisteredCustomer> {
    for (let round = 0; round < MAX_ROUNDS; round += 1) {
      const text = await this.client.get(this.entryKey(key));
      const { entry, changed } = await decide(text === null ? undefined : entryFromJson(text));
      if (!changed) return entry;
      const accountId = entry.accountId ?? '';
      const outcome = await this.compareAndSet(
        [this.entryKey(key), this.accountKey(accountId), `${this.keyBase}:ids`],
        [text ?? '', JSON.stringify(entry), accountId, key],
      );
      if (outcome === 1) return entry;
      if (outcome === -1) {
        throw new MeteringError(
          'ERR_METERING_REGISTRY_CONFLICT',
          'link(): this app account is already linked to another Marketplace customer (one customer per app account)',
        );
      }
    }
    throw new MeteringError(
      'ERR_METERING_STORE',
      `RedisRegistry: the entry kept changing under ${MAX_ROUNDS} consecutive writes; try again`,
    );
  }

  private async compareAndSet(keys: string[], args: string[]): Promise<number> {
    try {
      return Number(await this.client.evalsha(COMPARE_AND_SET_SHA, keys.length, ...keys, ...args));
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return Number(await this.client.eval(COMPARE_AND_SET, keys.length, ...keys, ...args));
    }
  }
}
