import type { MeteringEngine, MeteringLogger } from '@meterkit/core';
import type { MeterEntry } from './meter-spec.js';
import type { ResolvedAdapterOptions } from './options.js';

/** Things the adapter counted that the engine never saw. Live values; read them any time. */
export interface AdapterCounters {
  /**
   * Dimensions of successful metered responses served without a customer (`onMissingCustomer: 'skip'`), one per
   * dimension per response; each also emits `usage.rejected` with reason `missing-customer`.
   */
  servedWithoutCustomer: number;
  /** Requests answered 401/403 because the resolver found no customer. */
  refusedWithoutCustomer: number;
  /** Requests answered 503 because the tally was full under `onMaxLiveKeys: 'reject'`. */
  refusedAtCapacity: number;
  /** `quantity()`, `when()` or `successStatus()` callbacks that threw; those responses counted nothing for that dimension. */
  callbackErrors: number;
}

/** @internal What every `meter()` of one `createMetering()` shares. */
export class MeteringContext {
  readonly counters: AdapterCounters = {
    servedWithoutCustomer: 0,
    refusedWithoutCustomer: 0,
    refusedAtCapacity: 0,
    callbackErrors: 0,
  };
  /** Under `onMaxLiveKeys: 'reject'` the middleware asks `admits()` before the handler. */
  readonly rejectsWhenFull: boolean;
  /** Seconds a client should wait after a 503: the tally empties at the next checkpoint. */
  readonly retryAfterSeconds: string;
  private readonly logger: MeteringLogger;
  private readonly warned = new Set<string>();

  constructor(
    readonly engine: MeteringEngine,
    readonly adapter: ResolvedAdapterOptions,
  ) {
    this.logger = engine.options.logger;
    this.rejectsWhenFull = engine.options.onMaxLiveKeys === 'reject';
    this.retryAfterSeconds = String(Math.max(1, Math.ceil(engine.options.checkpointMillis / 1000)));
  }

  /** A successful response with no customer: nothing is billed, and that is made visible (event, counter, one warning). */
  servedWithoutCustomer(entry: MeterEntry, quantity: number, method: string | undefined): void {
    this.counters.servedWithoutCustomer += 1;
    this.engine.events.emit('usage.rejected', {
      reason: 'missing-customer',
      dimension: entry.dimension,
      quantity,
      detail: `${entry.label} on ${method ?? 'a'} request: the customer resolver returned no customer`,
    });
    this.warnOnce(
      'missing-customer',
      'a metered request succeeded without a customer and was not billed; check the `customer` resolver and that ' +
        'authentication runs before meter() (see the `usage.rejected` event)',
      { meter: entry.label },
    );
  }

  /** A `quantity()`/`when()` callback threw after the response finished: count nothing for it, never crash. */
  callbackFailed(entry: MeterEntry, error: unknown): void {
    this.counters.callbackErrors += 1;
    this.warnOnce(
      `callback:${entry.label}`,
      `${entry.label}: quantity() or when() threw; that response was not counted`,
      {
        error: error instanceof Error ? error.message : String(error),
      },
    );
  }

  /** Per-request problems are logged once per kind: a busy server must not flood the log. */
  warnOnce(kind: string, message: string, context?: Record<string, unknown>): void {
    if (this.warned.has(kind)) return;
    this.warned.add(kind);
    this.logger.warn(message, context);
  }
}
