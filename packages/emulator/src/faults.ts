/**
 * Fault injection: a per-operation token-bucket quota on the emulator clock, probabilistic faults drawn
 * from a seeded stream, and scripted faults for tests that need "exactly the next two calls fail".
 */
import type { EmulatorClock } from './clock.js';
import { EmulatorConfigurationError } from './errors.js';
import type { OperationName } from './options.js';
import type { SeededRandom } from './random.js';

/** Latency: a fixed number of milliseconds, or a uniform range. */
export type LatencySetting = number | { min: number; max: number };

/** Probabilistic faults; each probability is in [0, 1]. */
export interface FaultSettings {
  /** Probability of a `ThrottlingException` (400) before processing. @default 0 */
  throttleProbability?: number;
  /** Probability of an `InternalServiceErrorException` (500) before processing. @default 0 */
  internalErrorProbability?: number;
  /** BatchMeterUsage: probability that a record is returned in `UnprocessedRecords` (not billed). @default 0 */
  unprocessedProbability?: number;
  /** Probability that the records are committed but the connection is destroyed without an answer. @default 0 */
  dropResponseProbability?: number;
  /** Wall-clock delay before each call is processed. @default 0 */
  latencyMillis?: LatencySetting;
}

/** Calls per second allowed per operation; `0` means unlimited for that operation. */
export type QuotaSettings = Partial<Record<OperationName, number>>;

/** Fault configuration: global settings, per-operation overrides, and the quota. */
export interface FaultOptions extends FaultSettings {
  /**
   * Token-bucket quota per operation on the emulator clock (bucket size = rate). `false` disables it.
   * @default { BatchMeterUsage: 10, MeterUsage: 10, ResolveCustomer: 10, RegisterUsage: 5 }
   */
  quota?: false | QuotaSettings;
  /** Settings that override the global ones for one operation. */
  operations?: Partial<Record<OperationName, FaultSettings>>;
}

/** A fault injected into the next matching call(s), regardless of probabilities. */
export type ScheduledFaultKind = 'throttle' | 'internal-error' | 'drop-response' | 'unprocessed';

/** Schedules {@link ScheduledFaultKind} for the next `count` calls of `operation` (any operation if absent). */
export interface ScheduledFault {
  fault: ScheduledFaultKind;
  operation?: OperationName;
  /** @default 1 */
  count?: number;
}

/** The current fault configuration, as reported by the control API. */
export interface FaultSnapshot {
  readonly settings: FaultOptions;
  readonly quota: false | Readonly<Record<OperationName, number>>;
  readonly scheduled: readonly Required<ScheduledFault>[];
}

/** What stopped a call before processing. */
export type AdmissionFault = 'quota' | 'throttle' | 'internal-error';

/** AWS's published quotas (ResolveCustomer has none published; 10 is assumed). */
export const DEFAULT_QUOTA: Readonly<Record<OperationName, number>> = {
  BatchMeterUsage: 10,
  MeterUsage: 10,
  ResolveCustomer: 10,
  RegisterUsage: 5,
};

interface Bucket {
  tokens: number;
  lastMillis: number;
}

/** @internal Decides which faults hit each call. */
export class FaultInjector {
  readonly #initial: FaultOptions;
  readonly #random: SeededRandom;
  readonly #clock: EmulatorClock;
  #settings: FaultOptions = {};
  #scheduled: Required<ScheduledFault>[] = [];
  readonly #buckets = new Map<OperationName, Bucket>();

  constructor(initial: FaultOptions, random: SeededRandom, clock: EmulatorClock) {
    checkFaultOptions(initial);
    this.#initial = initial;
    this.#random = random;
    this.#clock = clock;
    this.reset();
  }

  /** Current configuration. */
  snapshot(): FaultSnapshot {
    return {
      settings: structuredClone(this.#settings),
      quota: this.#quota(),
      scheduled: this.#scheduled.map((s) => ({ ...s })),
    };
  }

  /** Merges `patch` into the current settings (per-operation settings merge per operation). */
  update(patch: FaultOptions): void {
    checkFaultOptions(patch);
    const { operations, quota, ...global } = patch;
    const next: FaultOptions = { ...this.#settings, ...global };
    if (quota !== undefined) {
      const previous = this.#settings.quota;
      next.quota = quota === false ? false : { ...(previous === false ? {} : previous), ...quota };
      this.#buckets.clear();
    }
    if (operations) {
      const merged = { ...this.#settings.operations };
      for (const [op, settings] of Object.entries(operations) as [OperationName, FaultSettings][]) {
        merged[op] = { ...merged[op], ...settings };
      }
      next.operations = merged;
    }
    this.#settings = next;
  }

  /** Replaces the whole configuration (the quota returns to its default unless given). */
  replace(options: FaultOptions): void {
    checkFaultOptions(options);
    this.#settings = structuredClone(options);
    this.#buckets.clear();
  }

  /** Queues scripted faults, consumed in order by matching calls. */
  schedule(items: readonly ScheduledFault[]): void {
    for (const item of items) {
      const count = item.count ?? 1;
      if (!['throttle', 'internal-error', 'drop-response', 'unprocessed'].includes(item.fault)) {
        throw new EmulatorConfigurationError(`unknown scheduled fault '${String(item.fault)}'`);
      }
      if (!Number.isInteger(count) || count < 1) {
        throw new EmulatorConfigurationError(
          `scheduled fault count must be a positive integer, got ${count}`,
        );
      }
      this.#scheduled.push({ fault: item.fault, operation: item.operation ?? ('*' as OperationName), count });
    }
  }

  /** Back to the options given at start; clears scripted faults and refills the quota. */
  reset(): void {
    this.#settings = structuredClone(this.#initial);
    this.#scheduled = [];
    this.#buckets.clear();
  }

  /** Decides whether the call is refused before processing. Consumes a quota token when admitted. */
  admit(operation: OperationName): AdmissionFault | undefined {
    if (!this.#takeToken(operation)) return 'quota';
    if (this.#takeScheduled(operation, 'throttle')) return 'throttle';
    if (this.#takeScheduled(operation, 'internal-error')) return 'internal-error';
    const settings = this.#effective(operation);
    if (this.#random.chance(settings.throttleProbability ?? 0)) return 'throttle';
    if (this.#random.chance(settings.internalErrorProbability ?? 0)) return 'internal-error';
    return undefined;
  }

  /** Delay to apply before processing the call. */
  latencyMillis(operation: OperationName): number {
    const latency = this.#effective(operation).latencyMillis;
    if (latency === undefined) return 0;
    if (typeof latency === 'number') return latency;
    return this.#random.int(Math.ceil(latency.min), Math.floor(latency.max));
  }

  /** Whether this call's answer is lost after its effects were committed. */
  dropResponse(operation: OperationName): boolean {
    if (this.#takeScheduled(operation, 'drop-response')) return true;
    return this.#random.chance(this.#effective(operation).dropResponseProbability ?? 0);
  }

  /** A per-record predicate for BatchMeterUsage: `true` means "return this record as unprocessed". */
  unprocessedPicker(operation: OperationName): () => boolean {
    if (this.#takeScheduled(operation, 'unprocessed')) return () => true;
    const p = this.#effective(operation).unprocessedProbability ?? 0;
    return () => this.#random.chance(p);
  }

  #effective(operation: OperationName): FaultSettings {
    const { operations, quota: _quota, ...global } = this.#settings;
    return { ...global, ...operations?.[operation] };
  }

  #quota(): false | Record<OperationName, number> {
    const quota = this.#settings.quota;
    if (quota === false) return false;
    return { ...DEFAULT_QUOTA, ...quota };
  }

  #takeToken(operation: OperationName): boolean {
    const quota = this.#quota();
    if (quota === false) return true;
    const rate = quota[operation];
    if (!rate || rate <= 0) return true;
    const now = this.#clock.now();
    const bucket = this.#buckets.get(operation) ?? { tokens: rate, lastMillis: now };
    // A clock moved backwards refills nothing rather than draining the bucket.
    const elapsed = Math.max(0, now - bucket.lastMillis);
    bucket.tokens = Math.min(rate, bucket.tokens + (elapsed * rate) / 1000);
    bucket.lastMillis = now;
    this.#buckets.set(operation, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  #takeScheduled(operation: OperationName, fault: ScheduledFaultKind): boolean {
    const index = this.#scheduled.findIndex(
      (s) => s.fault === fault && ((s.operation as string) === '*' || s.operation === operation),
    );
    if (index < 0) return false;
    const item = this.#scheduled[index]!;
    item.count -= 1;
    if (item.count === 0) this.#scheduled.splice(index, 1);
    return true;
  }
}

function checkFaultOptions(options: FaultOptions): void {
  checkSettings(options, 'faults');
  for (const [op, settings] of Object.entries(options.operations ?? {})) {
    checkSettings(settings ?? {}, `faults.operations.${op}`);
  }
  if (options.quota !== undefined && options.quota !== false) {
    for (const [op, rate] of Object.entries(options.quota)) {
      if (typeof rate !== 'number' || !Number.isFinite(rate) || rate < 0) {
        throw new EmulatorConfigurationError(
          `faults.quota.${op} must be a non-negative number of calls per second`,
        );
      }
    }
  }
}

function checkSettings(settings: FaultSettings, where: string): void {
  for (const key of [
    'throttleProbability',
    'internalErrorProbability',
    'unprocessedProbability',
    'dropResponseProbability',
  ] as const) {
    const value = settings[key];
    if (value !== undefined && (typeof value !== 'number' || !(value >= 0 && value <= 1))) {
      throw new EmulatorConfigurationError(
        `${where}.${key} must be a probability between 0 and 1, got ${value}`,
      );
    }
  }
  const latency = settings.latencyMillis;
  if (latency !== undefined) {
    const ok =
      typeof latency === 'number'
        ? latency >= 0
        : typeof latency === 'object' && latency.min >= 0 && latency.max >= latency.min;
    if (!ok) {
      throw new EmulatorConfigurationError(
        `${where}.latencyMillis must be >= 0 or a {min, max} range with min <= max`,
      );
    }
  }
}
