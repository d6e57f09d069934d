/** The Express adapter's options, checked and split into what the adapter uses and what the engine takes. */
import {
  type CustomerRef,
  MeteringConfigurationError,
  type MeteringOptions,
  type UsageSink,
} from '@meterkit/core';
import { splitAdapterOptions } from '@meterkit/core/adapter';
import { isServedStatus, type MissingCustomerPolicy } from '@meterkit/core/http';
import type { AdapterStoreOption } from '@meterkit/sqlite';
import type { Request } from 'express';
import { messages } from './messages.js';

/**
 * Returns the customer to bill for a request, from what your authentication attached to it (e.g. `req.user`).
 * Sync or async; `undefined` (or `null`) means "no billable customer". One that throws (or rejects) fails the request
 * through Express's error handling (500 unless your error handler says otherwise) and counts nothing. Never read a raw client header here unless you
 * have authenticated it: whoever controls the header would choose who is billed.
 */
export type CustomerResolver = (
  req: Request,
) => CustomerRef | undefined | null | PromiseLike<CustomerRef | undefined | null>;

/** Decides whether a finished response counts, from its status code. */
export type SuccessPredicate = (status: number) => boolean;

export type { MissingCustomerPolicy };

/** Options of the Express adapter only; the rest of {@link ExpressMeteringOptions} goes to the engine. */
export interface ExpressAdapterOptions {
  /**
   * The customer of a request. See {@link CustomerResolver}. Required, except with a sink that meters the instance
   * itself (`MeterUsageSink`): every request then belongs to its implicit customer, and a resolver is refused.
   */
  customer?: CustomerResolver;
  /**
   * Which delivered responses count, by final status.
   * @default 2xx and 3xx except 304 Not Modified (no content served)
   */
  successStatus?: SuccessPredicate;
  /**
   * No customer for a metered request: `'skip'` serves it and counts nothing (a `usage.rejected` event with reason
   * `missing-customer` when it succeeds, and `counters.servedWithoutCustomer`); `401` or `403` answers that status before the
   * handler runs.
   * @default 'skip'
   */
  onMissingCustomer?: MissingCustomerPolicy;
  /**
   * Call `engine.start()` (open the store, start the timers) right away. Turn off to start it yourself, e.g. after an
   * async store is ready.
   * @default true
   */
  autoStart?: boolean;
  /**
   * The file of the default SQLite store (relative paths from the working directory). Ignored with another `store`.
   * @default `$METERKIT_STORE_PATH`, else `.meterkit/usage.sqlite`
   */
  storePath?: string;
}

/**
 * Options of {@link createMetering}: every engine option of `@meterkit/core` plus the Express ones.
 * `sink` is optional here: it defaults to the AWS Marketplace sink (`new MarketplaceMeteringSink()`).
 */
export interface ExpressMeteringOptions
  extends Omit<MeteringOptions, 'sink' | 'store'>,
    ExpressAdapterOptions {
  /** Where sealed records go. @default new MarketplaceMeteringSink() from `@meterkit/aws-marketplace` */
  sink?: UsageSink;
  /**
   * Where counts live until billed. The default, a SQLite file (`storePath`), keeps the open hour at shutdown for the
   * next start, so a restart within the hour loses nothing: put it on a disk that outlives the process (a persistent
   * volume). `'memory'` keeps counts in this process only and sends its partial hour at shutdown: a restart within the
   * same UTC hour then loses the later process's usage of that hour. Several replicas need a `RedisStore`.
   * @default 'sqlite'
   */
  store?: AdapterStoreOption;
}

/** @internal The adapter's options with defaults applied. */
export interface ResolvedAdapterOptions {
  readonly customer: CustomerResolver;
  readonly successStatus: SuccessPredicate;
  readonly onMissingCustomer: MissingCustomerPolicy;
  readonly autoStart: boolean;
  readonly storePath: string | undefined;
}

type KeysEnum<T> = { [K in keyof Required<T>]: true };
const adapterKeys: KeysEnum<ExpressAdapterOptions> = {
  customer: true,
  successStatus: true,
  onMissingCustomer: true,
  autoStart: true,
  storePath: true,
};

/** The default {@link SuccessPredicate}: core's `isServedStatus` (2xx, and 3xx but 304 Not Modified). */
export const isSuccessStatus: SuccessPredicate = isServedStatus;

function fail(field: string, value: unknown, rule: string): never {
  throw new MeteringConfigurationError(
    'ERR_METERING_INVALID_OPTION',
    field,
    messages.invalidOption(field, value, rule),
  );
}

/**
 * Splits the Express options from the engine's (by the engine's own key list), rejects unknown keys and checks the
 * adapter's options. The engine's options are checked by the engine itself.
 * @throws {MeteringConfigurationError}
 */
export function splitOptions(input: ExpressMeteringOptions): {
  adapter: ResolvedAdapterOptions;
  engine: Omit<MeteringOptions, 'sink' | 'store'> & { sink?: UsageSink; store?: AdapterStoreOption };
} {
  if (input === null || typeof input !== 'object') fail('options', input, 'an object');
  const { adapter, engine } = splitAdapterOptions(input, adapterKeys, messages.unknownOption);
  const a = adapter as Partial<ExpressAdapterOptions>;
  // A sink that meters this instance (MeterUsage) has one implicit customer: no resolver, and none to contradict it.
  const implicit = (input as { sink?: UsageSink }).sink?.implicitCustomer;
  if (implicit !== undefined && a.customer !== undefined) {
    throw new MeteringConfigurationError(
      'ERR_METERING_CONFLICTING_OPTIONS',
      'customer',
      messages.resolverWithImplicitCustomer(),
    );
  }
  if (a.customer === undefined && implicit === undefined) {
    throw new MeteringConfigurationError(
      'ERR_METERING_INVALID_OPTION',
      'customer',
      messages.missingResolver(),
    );
  }
  if (a.customer !== undefined && typeof a.customer !== 'function')
    fail('customer', a.customer, 'a function (req) => CustomerRef | undefined');
  if (a.successStatus !== undefined && typeof a.successStatus !== 'function') {
    fail('successStatus', a.successStatus, 'a function (status) => boolean');
  }
  const onMissingCustomer = a.onMissingCustomer ?? 'skip';
  if (onMissingCustomer !== 'skip' && onMissingCustomer !== 401 && onMissingCustomer !== 403) {
    fail('onMissingCustomer', onMissingCustomer, "one of 'skip', 401, 403");
  }
  if (a.autoStart !== undefined && typeof a.autoStart !== 'boolean')
    fail('autoStart', a.autoStart, 'a boolean');
  return {
    adapter: Object.freeze({
      customer: a.customer ?? (() => implicit),
      successStatus: a.successStatus ?? isSuccessStatus,
      onMissingCustomer,
      autoStart: a.autoStart ?? true,
      storePath: a.storePath,
    }),
    engine: engine as Omit<MeteringOptions, 'sink' | 'store'> & {
      sink?: UsageSink;
      store?: AdapterStoreOption;
    },
  };
}
