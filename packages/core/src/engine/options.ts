/** The engine's options: what can be set, their validation and defaults, and the split adapters make of them. */
import { consoleLogger, guardLogger, type MeteringLogger } from '../logging/logger.js';
import { MemoryStore } from '../memory-store/memory-store.js';
import { MeteringConfigurationError } from '../model/errors.js';
import { messages } from '../model/messages.js';
import { checkRule } from '../model/service-rules.js';
import type { CustomerRegistry } from '../registry/customer-registry.js';
import type { UsageSink } from '../sink/usage-sink.js';
import type { UsageStore } from '../store/usage-store.js';
import { type Clock, systemClock, systemTimers, type Timers } from '../time/clock.js';
import { HOUR_MILLIS } from '../time/hours.js';

/** Options of the metering engine. Every field but `sink` is optional; defaults are listed with each. */
export interface MeteringOptions {
  /** Where sealed records go. `@meterkit/aws-marketplace` provides the BatchMeterUsage sink. */
  sink: UsageSink;
  /**
   * Where counts live between the request path and AWS.
   * @default a `MemoryStore`: one instance only; unsent usage dies with the process.
   */
  store?: UsageStore;
  /**
   * The product code used for customers whose `CustomerRef` has none. Required unless `licenseOnly` is true: without it,
   * every legacy customer (`{ customerIdentifier }`) would be refused at `record()`. Selling several products from one
   * engine, set it to one of them and put `productCode` on each `CustomerRef`.
   */
  productCode?: string;
  /**
   * Every customer is a Concurrent Agreements buyer (`{ awsAccountId, licenseArn }`): no `productCode` is needed
   * (license records are sent without one), and a legacy `{ customerIdentifier }` is refused at `record()` as
   * `invalid-customer`. Products listed from June 2026 are license-only.
   * @default false
   */
  licenseOnly?: boolean;
  /** The product's dimensions (API names). When given, anything else is refused at start-up or counted nowhere. */
  dimensions?: readonly string[];
  /** How often counts move from the request path into the store. @default 1000 */
  checkpointMillis?: number;
  /** How long after an hour ends it is sealed, so requests in flight at the boundary land first. @default 120000 */
  sealDelayMillis?: number;
  /** How often due records are sent (sealing also triggers a send). @default 10000 */
  dispatchIntervalMillis?: number;
  /** Calls per second to the service (AWS: 10 per account and region, shared by replicas). @default 10 */
  maxCallsPerSecond?: number;
  /** Calls in flight at once. @default 4 */
  maxConcurrentExports?: number;
  /** Abort a call after this long; it is then retried, identical. @default 30000 */
  exportTimeoutMillis?: number;
  /** How long a submitter owns the records it claimed. Must exceed `exportTimeoutMillis`. @default 120000 */
  leaseMillis?: number;
  /** First retry delay; doubles per attempt, with full jitter. @default 1000 */
  retryBaseMillis?: number;
  /** Longest retry delay. @default 300000 */
  retryMaxMillis?: number;
  /** Delay before retrying a call refused for a reason no record can fix (credentials, product). @default 60000 */
  failedRetryMillis?: number;
  /** How long after its hour starts the service still accepts a record (current model: 24 h). @default 86400000 */
  serviceWindowMillis?: number;
  /** The month-end rule: last month's usage is refused after this UTC hour on the 1st. `null` disables. @default 6 */
  monthEndCutoffHourUtc?: number | null;
  /** Warn (event `record.aging`) when a record is this old and still unsent. @default 21600000 (6 h) */
  warnAgeMillis?: number;
  /** Bound on distinct keys live on the request path. @default 1000000 */
  maxLiveKeys?: number;
  /**
   * What happens at `maxLiveKeys`: `checkpoint` moves every count into the store at once and starts afresh (nothing is
   * refused); `reject` refuses new keys (`record()` returns false, adapters answer 503) until the next checkpoint.
   * @default 'checkpoint'
   */
  onMaxLiveKeys?: 'checkpoint' | 'reject';
  /** Bound on `shutdown()`. @default 30000 */
  shutdownTimeoutMillis?: number;
  /**
   * Repeated log lines (refused usage per reason, store and background failures per operation) are written once, then
   * summed up in one line per kind per interval, with a count. @default 60000
   */
  logSummaryMillis?: number;
  /** Entries sealed or drained per slice before yielding to the event loop (a slice takes a few ms). @default 1000 */
  sliceSize?: number;
  /** `internal`: the engine runs its own timers. `external`: a scheduler (Nest's) calls `tick()`. @default 'internal' */
  scheduling?: 'internal' | 'external';
  clock?: Clock;
  timers?: Timers;
  /** Source of jitter, in [0, 1). @default Math.random */
  random?: () => number;
  logger?: MeteringLogger;
  /**
   * The registry of buyers (`MemoryRegistry`, `SqliteRegistry`, `RedisRegistry`). With it, meterkit sends zero-usage
   * heartbeats (see `heartbeats`).
   */
  registry?: CustomerRegistry;
  /**
   * Zero-usage heartbeats: for every customer in state `subscribed` or `unsubscribe-pending` in the `registry`, one
   * record per declared dimension and closed hour, with quantity 0 when nothing was used (AWS recommends a record every
   * hour). Needs `registry` and `dimensions`.
   * @default true when `registry` and `dimensions` are given
   */
  heartbeats?: boolean;
}

/** @internal Options with every default applied. */
export interface ResolvedMeteringOptions {
  readonly sink: UsageSink;
  readonly store: UsageStore;
  readonly productCode: string | undefined;
  readonly licenseOnly: boolean;
  readonly dimensions: readonly string[] | undefined;
  readonly checkpointMillis: number;
  readonly sealDelayMillis: number;
  readonly dispatchIntervalMillis: number;
  readonly maxCallsPerSecond: number;
  readonly maxConcurrentExports: number;
  readonly exportTimeoutMillis: number;
  readonly leaseMillis: number;
  readonly retryBaseMillis: number;
  readonly retryMaxMillis: number;
  readonly failedRetryMillis: number;
  readonly serviceWindowMillis: number;
  readonly monthEndCutoffHourUtc: number | null;
  readonly warnAgeMillis: number;
  readonly maxLiveKeys: number;
  readonly onMaxLiveKeys: 'checkpoint' | 'reject';
  readonly shutdownTimeoutMillis: number;
  readonly logSummaryMillis: number;
  readonly sliceSize: number;
  readonly scheduling: 'internal' | 'external';
  readonly clock: Clock;
  readonly timers: Timers;
  readonly random: () => number;
  readonly logger: MeteringLogger;
  readonly registry: CustomerRegistry | undefined;
  readonly heartbeats: boolean;
}

type KeysEnum<T> = { [K in keyof Required<T>]: true };
const optionKeys: KeysEnum<MeteringOptions> = {
  sink: true,
  store: true,
  productCode: true,
  licenseOnly: true,
  dimensions: true,
  checkpointMillis: true,
  sealDelayMillis: true,
  dispatchIntervalMillis: true,
  maxCallsPerSecond: true,
  maxConcurrentExports: true,
  exportTimeoutMillis: true,
  leaseMillis: true,
  retryBaseMillis: true,
  retryMaxMillis: true,
  failedRetryMillis: true,
  serviceWindowMillis: true,
  monthEndCutoffHourUtc: true,
  warnAgeMillis: true,
  maxLiveKeys: true,
  onMaxLiveKeys: true,
  shutdownTimeoutMillis: true,
  logSummaryMillis: true,
  sliceSize: true,
  scheduling: true,
  clock: true,
  timers: true,
  random: true,
  logger: true,
  registry: true,
  heartbeats: true,
};

/** Every key `MeteringOptions` accepts; adapters use it to split their own options from the engine's. */
export const meteringOptionKeys: readonly (keyof MeteringOptions)[] = Object.keys(
  optionKeys,
) as (keyof MeteringOptions)[];

/**
 * Splits an adapter's options into its own (the keys of `adapterKeys`) and the engine's (`meteringOptionKeys`),
 * leaving out undefined values. Any other key throws `ERR_METERING_UNKNOWN_OPTION`, with the message the adapter
 * words (it names the adapter's docs).
 * @throws {MeteringConfigurationError}
 */
export function splitAdapterOptions(
  input: object,
  adapterKeys: object,
  unknownMessage: (key: string, known: readonly string[]) => string,
): { adapter: Record<string, unknown>; engine: Record<string, unknown> } {
  // Null-prototype maps and own-property checks: `constructor`, `toString` or a JSON `__proto__` are not option keys.
  const adapter: Record<string, unknown> = Object.create(null);
  const engine: Record<string, unknown> = Object.create(null);
  for (const [key, value] of Object.entries(input)) {
    if (value === undefined) continue;
    if (Object.hasOwn(adapterKeys, key)) adapter[key] = value;
    else if (Object.hasOwn(optionKeys, key)) engine[key] = value;
    else {
      const known = [...Object.keys(adapterKeys), ...meteringOptionKeys];
      throw new MeteringConfigurationError('ERR_METERING_UNKNOWN_OPTION', key, unknownMessage(key, known));
    }
  }
  return { adapter, engine };
}

function fail(field: string, value: unknown, rule: string): never {
  throw new MeteringConfigurationError(
    'ERR_METERING_INVALID_OPTION',
    field,
    messages.invalidOption(field, value, rule),
  );
}

function integer(field: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    fail(field, value, `an integer from ${min} to ${max}`);
  }
  return value;
}

function conflict(field: string, other: string, why: string): never {
  throw new MeteringConfigurationError(
    'ERR_METERING_CONFLICTING_OPTIONS',
    field,
    messages.conflictingOptions(field, other, why),
  );
}

function oneOf<T extends string>(field: string, value: unknown, allowed: readonly T[]): T {
  if (!allowed.includes(value as T)) fail(field, value, `one of ${allowed.map((a) => `'${a}'`).join(', ')}`);
  return value as T;
}

function isFunction(value: unknown): boolean {
  return typeof value === 'function';
}

/** Checks one dimension name against the service's rules (and the declared list); throws naming `where`. */
export function assertDimension(
  where: string,
  dimension: unknown,
  declared: readonly string[] | undefined,
): string {
  const broken = checkRule('dimension', dimension);
  if (broken !== undefined) {
    throw new MeteringConfigurationError(
      'ERR_METERING_INVALID_DIMENSION',
      where,
      messages.invalidDimension(where, dimension, `it must be ${broken}`),
    );
  }
  if (declared !== undefined && !declared.includes(dimension as string)) {
    throw new MeteringConfigurationError(
      'ERR_METERING_UNDECLARED_DIMENSION',
      where,
      messages.undeclaredDimension(where, dimension as string, declared),
    );
  }
  return dimension as string;
}

/**
 * Validates options and applies every default, in one place. Throws a {@link MeteringConfigurationError} naming the
 * field, the bad value and the rule.
 */
export function parseOptions(input: MeteringOptions): ResolvedMeteringOptions {
  if (input === null || typeof input !== 'object') fail('options', input, 'an object');
  // A null-prototype map and an own-property check: `constructor`, `toString` or a JSON `__proto__` are not options.
  const given: Record<string, unknown> = Object.create(null);
  for (const [key, value] of Object.entries(input)) {
    if (value === undefined) continue;
    if (!Object.hasOwn(optionKeys, key)) {
      throw new MeteringConfigurationError(
        'ERR_METERING_UNKNOWN_OPTION',
        key,
        messages.unknownOption(key, meteringOptionKeys),
      );
    }
    given[key] = value;
  }
  const o = given as Partial<MeteringOptions>;

  const sink = o.sink;
  if (
    sink === undefined ||
    typeof sink !== 'object' ||
    !isFunction(sink.export) ||
    !isFunction(sink.planBatches) ||
    !Number.isInteger(sink.maxBatchSize) ||
    sink.maxBatchSize < 1
  ) {
    fail(
      'sink',
      sink,
      'a UsageSink (an object with export(), planBatches() and maxBatchSize), e.g. new MarketplaceMeteringSink()',
    );
  }
  if (o.store !== undefined && (typeof o.store !== 'object' || !isFunction(o.store.takeDue))) {
    fail('store', o.store, 'a UsageStore (MemoryStore, SqliteStore, RedisStore)');
  }
  const licenseOnly = o.licenseOnly ?? false;
  if (typeof licenseOnly !== 'boolean') fail('licenseOnly', licenseOnly, 'true or false');
  if (o.productCode !== undefined) {
    const broken = checkRule('productCode', o.productCode);
    if (broken !== undefined) fail('productCode', o.productCode, broken);
  } else if (!licenseOnly) {
    // Without a default product, every legacy customer would be refused at record(), one request at a time.
    fail(
      'productCode',
      undefined,
      'set (the product legacy `{ customerIdentifier }` customers are billed under), unless every customer is a ' +
        'Concurrent Agreements buyer (`{ awsAccountId, licenseArn }`): then set `licenseOnly: true`',
    );
  }
  let dimensions: readonly string[] | undefined;
  if (o.dimensions !== undefined) {
    if (!Array.isArray(o.dimensions) || o.dimensions.length === 0) {
      fail('dimensions', o.dimensions, 'a non-empty array of dimension names');
    }
    const seen = new Set<string>();
    dimensions = Object.freeze(
      o.dimensions.map((d, i) => {
        const dimension = assertDimension(`Option \`dimensions[${i}]\``, d, undefined);
        if (seen.has(dimension)) fail(`dimensions[${i}]`, d, 'declared once (it is declared twice)');
        seen.add(dimension);
        return dimension;
      }),
    );
  }
  const givenLogger = o.logger ?? consoleLogger;
  if (
    typeof givenLogger !== 'object' ||
    givenLogger === null ||
    !isFunction(givenLogger.warn) ||
    !isFunction(givenLogger.error) ||
    !isFunction(givenLogger.info)
  ) {
    fail('logger', givenLogger, 'an object with info(), warn() and error()');
  }
  // A logger that throws must never take a request or a background task down with it.
  const logger = guardLogger(givenLogger);
  const clock = o.clock ?? systemClock;
  if (!isFunction(clock.now)) fail('clock', clock, 'an object with now()');
  const timers = o.timers ?? systemTimers;
  if (!isFunction(timers.setTimeout) || !isFunction(timers.clearTimeout)) {
    fail('timers', timers, 'an object with setTimeout() and clearTimeout()');
  }
  const random = o.random ?? Math.random;
  if (!isFunction(random)) fail('random', random, 'a function returning a number in [0, 1)');

  // Explicit values that contradict each other throw; when one side is a default, it gives way with a log line.
  let exportTimeoutMillis = integer('exportTimeoutMillis', o.exportTimeoutMillis ?? 30_000, 1);
  let leaseMillis = integer('leaseMillis', o.leaseMillis ?? 120_000, 1);
  if (leaseMillis <= exportTimeoutMillis) {
    if (o.leaseMillis !== undefined && o.exportTimeoutMillis !== undefined) {
      conflict(
        'leaseMillis',
        'exportTimeoutMillis',
        `a lease (${leaseMillis} ms) must outlast a call (${exportTimeoutMillis} ms), or another submitter could send the same records while the call is in flight; make leaseMillis larger`,
      );
    }
    if (o.leaseMillis === undefined) {
      leaseMillis = exportTimeoutMillis * 2;
      logger.warn(`leaseMillis raised to ${leaseMillis} ms to outlast exportTimeoutMillis`);
    } else {
      exportTimeoutMillis = Math.max(1, Math.floor(leaseMillis / 2));
      logger.warn(
        `exportTimeoutMillis lowered to ${exportTimeoutMillis} ms so a call ends within leaseMillis`,
      );
    }
  }
  let retryBaseMillis = integer('retryBaseMillis', o.retryBaseMillis ?? 1_000, 1);
  // A sink's own service rules (e.g. MeterUsage's window) stand in for the engine's defaults, never for given values.
  const sinkDefaults = (sink as UsageSink).optionDefaults ?? {};
  let retryMaxMillis = integer(
    'retryMaxMillis',
    o.retryMaxMillis ?? sinkDefaults.retryMaxMillis ?? 300_000,
    1,
  );
  if (retryMaxMillis < retryBaseMillis) {
    if (o.retryBaseMillis !== undefined && o.retryMaxMillis !== undefined) {
      conflict(
        'retryMaxMillis',
        'retryBaseMillis',
        `the longest delay (${retryMaxMillis} ms) must be at least the first (${retryBaseMillis} ms)`,
      );
    }
    if (o.retryMaxMillis === undefined) {
      retryMaxMillis = retryBaseMillis;
      logger.warn(`retryMaxMillis raised to ${retryMaxMillis} ms to match retryBaseMillis`);
    } else {
      retryBaseMillis = retryMaxMillis;
      logger.warn(`retryBaseMillis lowered to ${retryBaseMillis} ms to match retryMaxMillis`);
    }
  }
  const serviceWindowMillis = integer(
    'serviceWindowMillis',
    o.serviceWindowMillis ?? sinkDefaults.serviceWindowMillis ?? 24 * HOUR_MILLIS,
    HOUR_MILLIS,
  );
  const sealDelayMillis = integer('sealDelayMillis', o.sealDelayMillis ?? 120_000, 0, HOUR_MILLIS);
  const cutoff =
    o.monthEndCutoffHourUtc !== undefined
      ? o.monthEndCutoffHourUtc
      : sinkDefaults.monthEndCutoffHourUtc !== undefined
        ? sinkDefaults.monthEndCutoffHourUtc
        : 6;
  const monthEndCutoffHourUtc = cutoff === null ? null : integer('monthEndCutoffHourUtc', cutoff, 0, 23);

  if (o.registry !== undefined && (typeof o.registry !== 'object' || !isFunction(o.registry.list))) {
    fail('registry', o.registry, 'a CustomerRegistry (MemoryRegistry, SqliteRegistry, RedisRegistry)');
  }
  if (o.heartbeats !== undefined && typeof o.heartbeats !== 'boolean')
    fail('heartbeats', o.heartbeats, 'a boolean');
  let heartbeats = o.heartbeats ?? o.registry !== undefined;
  if (heartbeats && o.registry === undefined) {
    conflict(
      'heartbeats',
      'registry',
      'heartbeats go to the subscribed customers of a registry; give `registry`',
    );
  }
  if (heartbeats && dimensions === undefined) {
    if (o.heartbeats === true) {
      conflict(
        'heartbeats',
        'dimensions',
        'a heartbeat is one record per declared dimension; give `dimensions`',
      );
    }
    heartbeats = false;
    logger.warn('zero-usage heartbeats are off: they need the declared `dimensions`');
  }

  return Object.freeze({
    sink: sink as UsageSink,
    store: o.store ?? new MemoryStore(),
    productCode: o.productCode,
    licenseOnly,
    dimensions,
    checkpointMillis: integer('checkpointMillis', o.checkpointMillis ?? 1_000, 10, 60_000),
    sealDelayMillis,
    dispatchIntervalMillis: integer('dispatchIntervalMillis', o.dispatchIntervalMillis ?? 10_000, 10),
    maxCallsPerSecond: integer('maxCallsPerSecond', o.maxCallsPerSecond ?? 10, 1, 10_000),
    maxConcurrentExports: integer('maxConcurrentExports', o.maxConcurrentExports ?? 4, 1, 64),
    exportTimeoutMillis,
    leaseMillis,
    retryBaseMillis,
    retryMaxMillis,
    failedRetryMillis: integer('failedRetryMillis', o.failedRetryMillis ?? 60_000, 1),
    serviceWindowMillis,
    monthEndCutoffHourUtc,
    warnAgeMillis: integer('warnAgeMillis', o.warnAgeMillis ?? 6 * HOUR_MILLIS, 0),
    maxLiveKeys: integer('maxLiveKeys', o.maxLiveKeys ?? 1_000_000, 1),
    onMaxLiveKeys: oneOf('onMaxLiveKeys', o.onMaxLiveKeys ?? 'checkpoint', ['checkpoint', 'reject'] as const),
    shutdownTimeoutMillis: integer('shutdownTimeoutMillis', o.shutdownTimeoutMillis ?? 30_000, 0),
    logSummaryMillis: integer('logSummaryMillis', o.logSummaryMillis ?? 60_000, 1),
    sliceSize: integer('sliceSize', o.sliceSize ?? 1_000, 1),
    scheduling: oneOf('scheduling', o.scheduling ?? 'internal', ['internal', 'external'] as const),
    clock,
    timers,
    random,
    logger,
    registry: o.registry,
    heartbeats,
  });
}
