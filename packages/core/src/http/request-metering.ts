/** The post-response policy every HTTP adapter applies, with the counters they share. */

import type { MeteringEngine } from '../engine/metering-engine.js';
import type { MeteringLogger } from '../logging/logger.js';
import type { CustomerRef } from '../model/customer.js';
import type { UsageTags } from '../model/usage-tags.js';

/** What a metered route does when the customer resolver finds no customer. */
export type MissingCustomerPolicy = 'skip' | 401 | 403;

/** What the HTTP adapter counted that the engine never billed. Live values; read them any time. */
export interface HttpMeteringCounters {
  /**
   * Dimensions of served metered responses without a customer (`onMissingCustomer: 'skip'`), one per dimension per
   * response; each also reaches the engine, which reports `usage.rejected` with reason `missing-customer`.
   */
  servedWithoutCustomer: number;
  /** Requests answered 401/403 because the resolver found no customer. */
  refusedWithoutCustomer: number;
  /** Requests answered 503 because the tally was full under `onMaxLiveKeys: 'reject'`. */
  refusedAtCapacity: number;
  /** Requests failed because the customer resolver threw or its promise rejected (the request is not served). */
  resolverErrors: number;
  /** `quantity`, `when` or `successStatus` callbacks that threw; those responses counted nothing for that dimension. */
  callbackErrors: number;
  /**
   * Metered responses Node reported finished although their connection had been destroyed with the body unsent
   * (the client aborted mid-body or never read): counted nothing. Node 20 and 22 report them; Node 24 never reports
   * such a response finished, so there it counts nothing without reaching this counter.
   */
  undelivered: number;
}

/**
 * The rules every adapter follows once it knows a request is metered, in one place so Express and Nest (on Express
 * or Fastify) give the same outcome for the same input:
 * - served = the response was delivered in full (see `watchFinish`) with a status the route's `successStatus` accepts
 *   (default {@link isServedStatus}: 2xx and 3xx but 304);
 * - a customer resolver that throws (or rejects) fails the request (the framework's error handling answers it, 500 by
 *   default) and counts nothing: serving it unbilled would give the usage away without a trace;
 * - a `successStatus`, `when` or `quantity` callback that throws counts nothing for that dimension: the response has
 *   already been sent, so the failure is logged (once per route) and counted in `callbackErrors`;
 * - no customer: `'skip'` serves the request and reports each served dimension to the engine (`usage.rejected`,
 *   reason `missing-customer`); `401`/`403` refuse it before the handler.
 */
export class RequestMetering {
  readonly counters: HttpMeteringCounters = {
    servedWithoutCustomer: 0,
    refusedWithoutCustomer: 0,
    refusedAtCapacity: 0,
    resolverErrors: 0,
    callbackErrors: 0,
    undelivered: 0,
  };
  /** Under `onMaxLiveKeys: 'reject'` adapters ask `admits()` before the handler. */
  readonly rejectsWhenFull: boolean;
  /** Seconds a client should wait after a 503: the tally empties at the next checkpoint. */
  readonly retryAfterSeconds: string;
  private readonly logger: MeteringLogger;
  private readonly warned = new Set<string>();

  constructor(
    readonly engine: MeteringEngine,
    readonly onMissingCustomer: MissingCustomerPolicy,
  ) {
    this.logger = engine.options.logger;
    this.rejectsWhenFull = engine.options.onMaxLiveKeys === 'reject';
    this.retryAfterSeconds = String(Math.max(1, Math.ceil(engine.options.checkpointMillis / 1000)));
  }

  /** Counts a served response's dimension; `customer` undefined under the `'skip'` policy. */
  count(
    customer: CustomerRef | undefined,
    dimension: string,
    quantity: number,
    where: string,
    tags?: UsageTags,
  ): void {
    if (customer !== undefined) {
      if (tags === undefined) this.engine.record(customer, dimension, quantity);
      else this.engine.record(customer, dimension, quantity, undefined, tags);
      return;
    }
    this.counters.servedWithoutCustomer += 1;
    // The engine reports it (`usage.rejected`, reason `missing-customer`) like any other record it refuses.
    this.engine.record(undefined as unknown as CustomerRef, dimension, quantity);
    this.warnOnce(
      'missing-customer',
      'a metered request was served without a customer and was not billed; check the `customer` resolver and ' +
        'that authentication runs before metering (see the `usage.rejected` event)',
      { where },
    );
  }

  /** Whether the engine can count every dimension for this customer now (under `onMaxLiveKeys: 'reject'`). */
  admits(customer: CustomerRef, dimensions: readonly { readonly dimension: string }[]): boolean {
    for (const { dimension } of dimensions) {
      if (!this.engine.admits(customer, dimension)) {
        this.counters.refusedAtCapacity += 1;
        return false;
      }
    }
    return true;
  }

  /** No customer under a 401/403 policy: the adapter refuses the request. */
  refusedWithoutCustomer(): void {
    this.counters.refusedWithoutCustomer += 1;
  }

  /** The customer resolver threw or rejected: the adapter fails the request with `error`. */
  resolverFailed(where: string, error: unknown): void {
    this.counters.resolverErrors += 1;
    this.errorOnce(
      `resolver:${where}`,
      `the customer resolver threw on ${where}; the request failed and nothing was counted`,
      error,
    );
  }

  /** A `successStatus`/`when`/`quantity` callback threw after the response was sent: nothing counted for it. */
  callbackFailed(where: string, dimension: string, error: unknown): void {
    this.counters.callbackErrors += 1;
    this.errorOnce(
      `callback:${where}:${dimension}`,
      `${where}: the success check, condition or quantity of '${dimension}' threw; that response counted nothing for it`,
      error,
    );
  }

  /** The response's connection was destroyed before its body was sent: nothing counted. */
  undelivered(): void {
    this.counters.undelivered += 1;
  }

  /** Per-request problems are logged once per kind: a busy server must not flood the log. */
  warnOnce(kind: string, message: string, context?: Record<string, unknown>): void {
    if (this.warned.has(kind)) return;
    this.warned.add(kind);
    this.logger.warn(message, context);
  }

  private errorOnce(kind: string, message: string, error: unknown): void {
    if (this.warned.has(kind)) return;
    this.warned.add(kind);
    this.logger.error(message, { error: error instanceof Error ? error.message : String(error) });
  }
}
