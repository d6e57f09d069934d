/** MeteringModule's options: their types, and their resolution and validation, done once when the module starts. */
import {
  type CustomerRef,
  MeteringConfigurationError,
  type MeteringOptions,
  type UsageSink,
} from '@meterkit/core';
import { splitAdapterOptions } from '@meterkit/core/adapter';
import { isServedStatus, type MissingCustomerPolicy } from '@meterkit/core/http';
import type { AdapterStoreOption } from '@meterkit/sqlite';
import type { ExecutionContext } from '@nestjs/common';
import { messages } from './metering.messages.js';

/**
 * What happens when the customer resolver finds no customer on a metered route:
 * - `'skip'`: serve the request and count nothing; each served response is reported (`usage.rejected` with
 *   reason `missing-customer`, and `MeteringService.stats().http.servedWithoutCustomer`);
 * - `401` / `403`: refuse the request before the handler runs.
 */
export type { MissingCustomerPolicy };

/**
 * Who is billed for a request: sync or async. `undefined` (or `null`) is nobody. One that throws (or rejects) fails
 * the request through Nest's exception handling (500 for a plain error) and counts nothing.
 */
export type CustomerResolver = (
  context: ExecutionContext,
) => CustomerRef | undefined | null | PromiseLike<CustomerRef | undefined | null>;

/**
 * When the background jobs run: a number is an interval in milliseconds, a string a cron expression
 * (`@nestjs/schedule` syntax, seconds first when six fields are given).
 */
export type MeteringJobSchedule = number | string;

/** The jobs the module registers in `SchedulerRegistry`. */
export interface MeteringScheduleOptions {
  /**
   * Moves counts from memory into the store.
   * @default the engine's `checkpointMillis` (1000)
   */
  checkpoint?: MeteringJobSchedule;
  /**
   * Seals closed hours and sends due records (`engine.tick()`).
   * @default the engine's `dispatchIntervalMillis` (10000)
   */
  dispatch?: MeteringJobSchedule;
}

/** Options of the Nest adapter, next to the engine's. */
export interface MeteringAdapterOptions {
  /**
   * Who is billed for a request, read from the **authenticated** request (e.g. what your auth guard attached as
   * `req.user`). Return `undefined` when there is nobody to bill. Never return a customer id taken from a raw client
   * header unless your app has authenticated that header. Required, except with a sink that meters the instance itself
   * (`MeterUsageSink`): every request then belongs to its implicit customer, and a resolver is refused.
   *
   * @example
   * ```ts
   * customer: (ctx) => ctx.switchToHttp().getRequest().user?.billing
   * ```
   */
  customer?: CustomerResolver;
  /**
   * Which final status codes count as served. Applies to every route; `@Meter({ successStatus })` overrides it.
   * @default 2xx and 3xx except 304 Not Modified (no content served)
   */
  successStatus?: (statusCode: number) => boolean;
  /** @default 'skip' */
  onMissingCustomer?: MissingCustomerPolicy;
  /** Schedules of the background jobs (ignored with `scheduling: 'internal'`). */
  schedule?: MeteringScheduleOptions;
  /**
   * The file of the default SQLite store (relative paths from the working directory). Ignored with another `store`.
   * @default `$METERKIT_STORE_PATH`, else `.meterkit/usage.sqlite`
   */
  storePath?: string;
}

/**
 * Options of {@link MeteringModule}: the engine's `MeteringOptions` (see `@meterkit/core`) plus the adapter's.
 *
 * - `sink` is optional: by default a `MarketplaceMeteringSink` from `@meterkit/aws-marketplace` (AWS SDK credential
 *   chain, region and `AWS_ENDPOINT_URL_MARKETPLACE_METERING` honoured);
 * - `scheduling` defaults to `'external'`: the module runs the engine's background work as `@nestjs/schedule` jobs.
 *   Pass `'internal'` to let the engine use its own timers (and injected `timers`).
 */
export interface MeteringModuleOptions
  extends Omit<MeteringOptions, 'sink' | 'store'>,
    MeteringAdapterOptions {
  /** @default new MarketplaceMeteringSink() */
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

/** The engine's share of the module's options, as the adapter hands it to `createMeteringEngine()`. */
export type EngineShareOfOptions = Partial<Omit<MeteringOptions, 'store'>> & { store?: AdapterStoreOption };

/** @internal The module's options once resolved: the adapter's with defaults applied, and the engine's share. */
export interface ResolvedMeteringOptions {
  readonly customer: CustomerResolver;
  readonly successStatus: (statusCode: number) => boolean;
  readonly onMissingCustomer: MissingCustomerPolicy;
  /** `undefined`: the engine's `checkpointMillis` / `dispatchIntervalMillis`, read once the engine has checked them. */
  readonly schedule: {
    readonly checkpoint: MeteringJobSchedule | undefined;
    readonly dispatch: MeteringJobSchedule | undefined;
  };
  readonly scheduling: 'internal' | 'external';
  readonly storePath: string | undefined;
  /** Passed to the engine, which validates them itself. */
  readonly engine: EngineShareOfOptions;
}

type KeysEnum<T> = { [K in keyof Required<T>]: true };
const adapterOptionKeys: KeysEnum<MeteringAdapterOptions> = {
  customer: true,
  successStatus: true,
  onMissingCustomer: true,
  schedule: true,
  storePath: true,
};

function fail(field: string, value: unknown, rule: string): never {
  throw new MeteringConfigurationError(
    'ERR_METERING_INVALID_OPTION',
    field,
    messages.invalidOption(field, value, rule),
  );
}

function jobSchedule(field: string, value: unknown): MeteringJobSchedule | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number' && Number.isInteger(value) && value >= 10) return value;
  if (typeof value === 'string' && value.trim().split(/\s+/).length >= 5) return value;
  return fail(field, value, 'an interval in milliseconds (an integer ≥ 10) or a cron expression');
}

/**
 * @internal Splits the module's options into the adapter's and the engine's, checks the adapter's (throwing the
 * engine's typed errors: an unknown key, a bad value, a resolver next to a sink that meters the instance) and applies
 * their defaults. The engine's share is checked by the engine when it is created.
 */
export function resolveMeteringOptions(options: MeteringModuleOptions): ResolvedMeteringOptions {
  if (options === null || typeof options !== 'object') fail('options', options, 'an object');
  const split = splitAdapterOptions(options, adapterOptionKeys, messages.unknownOption);
  const adapter = split.adapter as MeteringAdapterOptions;
  const engine = split.engine as EngineShareOfOptions;
  // A sink that meters this instance (MeterUsage) has one implicit customer: no resolver, and none to contradict it.
  const implicit = options.sink?.implicitCustomer;
  if (implicit !== undefined && adapter.customer !== undefined) {
    throw new MeteringConfigurationError(
      'ERR_METERING_CONFLICTING_OPTIONS',
      'customer',
      messages.resolverWithImplicitCustomer(),
    );
  }
  if (implicit === undefined && typeof adapter.customer !== 'function') {
    fail('customer', adapter.customer, 'a function (context: ExecutionContext) => CustomerRef | undefined');
  }
  if (adapter.successStatus !== undefined && typeof adapter.successStatus !== 'function') {
    fail('successStatus', adapter.successStatus, 'a function (statusCode: number) => boolean');
  }
  const onMissingCustomer = adapter.onMissingCustomer ?? 'skip';
  if (onMissingCustomer !== 'skip' && onMissingCustomer !== 401 && onMissingCustomer !== 403) {
    fail('onMissingCustomer', onMissingCustomer, "'skip', 401 or 403");
  }
  const schedule = adapter.schedule ?? {};
  if (schedule === null || typeof schedule !== 'object') fail('schedule', schedule, 'an object');
  // The module runs the engine's background work as Nest jobs unless told otherwise; the engine checks the value.
  const scheduling = engine.scheduling ?? 'external';
  return Object.freeze({
    customer: adapter.customer ?? (() => implicit),
    successStatus: adapter.successStatus ?? isServedStatus,
    onMissingCustomer,
    schedule: Object.freeze({
      checkpoint: jobSchedule('schedule.checkpoint', schedule.checkpoint),
      dispatch: jobSchedule('schedule.dispatch', schedule.dispatch),
    }),
    scheduling,
    storePath: adapter.storePath,
    engine: Object.freeze({ ...engine, scheduling }),
  });
}
