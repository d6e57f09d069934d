/** RedisStore's options, checked and with defaults applied. */
import { randomUUID } from 'node:crypto';
import { MeteringConfigurationError } from '@meterkit/core';
import type { RedisClient } from './lua-script.js';

/** Options of {@link RedisStore}. Give `url` or `client`, not both. */
export interface RedisStoreOptions {
  /** Where to connect, e.g. `redis://:password@redis.internal:6379/0` or `rediss://…` for TLS. @default 'redis://127.0.0.1:6379' */
  url?: string;
  /** A connected ioredis client (`Redis` or `Cluster`) to use instead; the store never closes a client it was given. */
  client?: RedisClient;
  /**
   * Names this store's data; every replica of one product must use the same prefix. Keys look like
   * `{mk:<keyPrefix>}:…`, so they all share one Redis Cluster slot.
   * @default 'meterkit'
   */
  keyPrefix?: string;
  /** Accepted records kept for `auditLog()`; older ones are trimmed (they were billed). @default 10000 */
  auditCapacity?: number;
  /**
   * Only one replica sends at a time, so replicas share the service's 10 calls/s quota instead of each spending it:
   * whoever calls `takeDue` first holds the submitter lease and renews it on every call; another replica takes over
   * once it lapses (a crashed submitter is replaced after at most this long). Must exceed the engine's
   * `dispatchIntervalMillis`, measured on the engine's clock.
   * @default 60000
   */
  submitterLeaseMillis?: number;
  /** Names this replica in the submitter lease. @default a random UUID */
  instanceId?: string;
}

/** @internal */
export interface ResolvedRedisStoreOptions {
  readonly url: string | undefined;
  readonly client: RedisClient | undefined;
  readonly keyPrefix: string;
  readonly auditCapacity: number;
  readonly submitterLeaseMillis: number;
  readonly instanceId: string;
}

const known: Record<keyof RedisStoreOptions, true> = {
  url: true,
  client: true,
  keyPrefix: true,
  auditCapacity: true,
  submitterLeaseMillis: true,
  instanceId: true,
};

function invalid(field: string, value: unknown, rule: string): never {
  const shown = typeof value === 'object' && value !== null ? 'an object' : JSON.stringify(value);
  throw new MeteringConfigurationError(
    'ERR_METERING_INVALID_OPTION',
    field,
    `RedisStore option \`${field}\` is ${shown}, but it must be ${rule}.`,
  );
}

function positiveInteger(field: string, value: unknown, fallback: number): number {
  const resolved = value ?? fallback;
  if (typeof resolved !== 'number' || !Number.isSafeInteger(resolved) || resolved < 1) {
    invalid(field, value, 'a positive integer');
  }
  return resolved;
}

/** Applies defaults and rejects unknown or invalid options, naming the field. @internal */
export function parseRedisStoreOptions(input: RedisStoreOptions = {}): ResolvedRedisStoreOptions {
  if (input === null || typeof input !== 'object') invalid('options', input, 'an object');
  for (const [key, value] of Object.entries(input)) {
    if (value !== undefined && !Object.hasOwn(known, key)) {
      throw new MeteringConfigurationError(
        'ERR_METERING_UNKNOWN_OPTION',
        key,
        `Unknown RedisStore option \`${key}\`. Known options: ${Object.keys(known).join(', ')}.`,
      );
    }
  }
  if (input.url !== undefined && input.client !== undefined) {
    throw new MeteringConfigurationError(
      'ERR_METERING_CONFLICTING_OPTIONS',
      'client',
      'RedisStore options `url` and `client` conflict: give the URL to connect to, or a client already set up, not both.',
    );
  }
  if (input.url !== undefined && (typeof input.url !== 'string' || !/^rediss?:\/\//.test(input.url))) {
    invalid('url', input.url, 'a redis:// or rediss:// URL');
  }
  if (
    input.client !== undefined &&
    (typeof input.client !== 'object' || typeof input.client.evalsha !== 'function')
  ) {
    invalid('client', input.client, 'an ioredis Redis or Cluster client');
  }
  const keyPrefix = input.keyPrefix ?? 'meterkit';
  if (typeof keyPrefix !== 'string' || keyPrefix.length === 0 || /[{}]/.test(keyPrefix)) {
    invalid('keyPrefix', keyPrefix, 'a non-empty string without { or } (the store adds its own hash tag)');
  }
  const instanceId = input.instanceId ?? randomUUID();
  if (typeof instanceId !== 'string' || instanceId.length === 0)
    invalid('instanceId', instanceId, 'a non-empty string');
  return {
    url: input.url,
    client: input.client,
    keyPrefix,
    auditCapacity: positiveInteger('auditCapacity', input.auditCapacity, 10_000),
    submitterLeaseMillis: positiveInteger('submitterLeaseMillis', input.submitterLeaseMillis, 60_000),
    instanceId,
  };
}
