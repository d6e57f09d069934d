/** The meter() middleware: resolves the customer, then counts the response once it finishes successfully. */
import type { CustomerRef, MeteringEngine } from '@meterkit/core';
import {
  countBodyBytes,
  type FinishWatcher,
  isServedStatus,
  watcherOf,
  watchFinish,
} from '@meterkit/core/http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { MeterEntry, MeterPlan } from './meter-spec.js';
import type { MeteringContext } from './metering-context.js';
import type { SuccessPredicate } from './options.js';

/**
 * A `meter()` bound to its metering, with what the request path reads copied flat onto it: on a busy server these
 * objects are rarely in cache when a request comes, and each one more to reach is a cache miss (the figures:
 * bench/README.md, "Why the code is shaped this way: measurements").
 */
interface ArmedMeter {
  readonly plan: MeterPlan;
  readonly context: MeteringContext;
  readonly engine: MeteringEngine;
  /** `context.rejectsWhenFull`. */
  readonly checksCapacity: boolean;
  /** `plan.countsBytes`. */
  readonly countsBytes: boolean;
  /**
   * The common case, counted without walking the plan: the meter's only dimension, when it counts a constant
   * quantity with no `when()` (else undefined).
   */
  readonly onlyDimension: string | undefined;
  readonly onlyQuantity: number;
  readonly onlyIsSuccess: SuccessPredicate;
}

function armMeter(context: MeteringContext, plan: MeterPlan): ArmedMeter {
  const only = plan.entries.length === 1 ? (plan.entries[0] as MeterEntry) : undefined;
  const simple =
    only !== undefined &&
    only.quantityOf === undefined &&
    only.when === undefined &&
    only.tagsOf === undefined;
  return {
    plan,
    context,
    engine: context.engine,
    checksCapacity: context.rejectsWhenFull,
    countsBytes: plan.countsBytes,
    onlyDimension: simple ? only.dimension : undefined,
    onlyQuantity: simple ? only.quantity : 0,
    onlyIsSuccess: simple ? only.isSuccess : isServedStatus,
  };
}

/** A meter armed on one request, with the customer its metering resolved (undefined: none, policy `skip`). */
interface ArmedOnRequest {
  readonly meter: ArmedMeter;
  readonly customer: CustomerRef | undefined;
}

/**
 * The metering state of one request: one object per metered request, kept by `@meterkit/core/http` with the
 * request's connection and told when the response has finished, through Node's `http.server.response.finish`
 * channel rather than a `finish` listener and a closure of its own. A second meter on the same request
 * (router-level plus route-level) adds to it.
 */
class MeteredRequest implements ArmedOnRequest, FinishWatcher {
  /** Meters after the first; rare. */
  more: ArmedOnRequest[] | undefined = undefined;

  constructor(
    readonly req: Request,
    readonly res: Response,
    readonly meter: ArmedMeter,
    readonly customer: CustomerRef | undefined,
  ) {}

  /** The customer an earlier meter of `context` resolved on this request, if any did. */
  resolvedBy(context: MeteringContext): ArmedOnRequest | undefined {
    if (this.meter.context === context) return this;
    return this.more?.find((armed) => armed.meter.context === context);
  }

  add(meter: ArmedMeter, customer: CustomerRef | undefined): void {
    if (this.meter === meter) return;
    if (this.more === undefined) this.more = [{ meter, customer }];
    else if (!this.more.some((armed) => armed.meter === meter)) this.more.push({ meter, customer });
  }

  /** The connection was destroyed with the body unsent: nothing is counted. */
  undelivered(): void {
    this.meter.context.undelivered();
  }

  /**
   * Counts what the delivered response earned; a request aborted before that never gets here. Never throws: it runs
   * inside the server's `finish` handling.
   */
  finished(status: number): void {
    const { meter, customer } = this;
    if (this.more === undefined) {
      const dimension = meter.onlyDimension;
      if (dimension !== undefined && customer !== undefined) {
        // The default predicate is inlined: calling it means reaching one more function that is not in cache.
        const isSuccess = meter.onlyIsSuccess;
        if (
          isSuccess === isServedStatus
            ? status >= 200 && status < 400 && status !== 304
            : succeeded(meter, isSuccess, status)
        ) {
          meter.engine.record(customer, dimension, meter.onlyQuantity);
        }
        return;
      }
      count(meter, customer, this.req, this.res, status, undefined);
      return;
    }
    const { req, res } = this;
    // Several meters on one request: each dimension counts once per metering, and the innermost meter (the last to
    // run) decides.
    const all: ArmedOnRequest[] = [this, ...this.more];
    const claimed: [MeteringContext, string][] = [];
    for (let i = all.length - 1; i >= 0; i--) {
      const { meter, customer } = all[i] as ArmedOnRequest;
      count(meter, customer, req, res, status, claimed);
      for (const entry of meter.plan.entries) claimed.push([meter.context, entry.dimension]);
    }
  }
}

/** @internal Builds the middleware of one `meter(...)` call. */
export function meterMiddleware(context: MeteringContext, plan: MeterPlan): RequestHandler {
  const meter = armMeter(context, plan);
  const resolve = context.adapter.customer;
  return function meterkitMeter(req: Request, res: Response, next: NextFunction): void {
    const earlier = watcherOf(res, req);
    const resolved = earlier instanceof MeteredRequest ? earlier.resolvedBy(context) : undefined;
    if (resolved !== undefined) {
      admit(meter, req, res, next, resolved.customer, earlier);
      return;
    }
    let customer: ReturnType<typeof resolve>;
    try {
      customer = resolve(req);
    } catch (error) {
      resolverFailed(meter, next, error);
      return;
    }
    if (customer != null && typeof (customer as PromiseLike<unknown>).then === 'function') {
      (customer as PromiseLike<CustomerRef | undefined | null>).then(
        (value) => admit(meter, req, res, next, value, watcherOf(res, req)),
        (error: unknown) => resolverFailed(meter, next, error),
      );
      return;
    }
    admit(meter, req, res, next, customer as CustomerRef | undefined | null, earlier);
  };
}

/** The resolver threw: the request fails (core's policy), through Express's error handling. */
function resolverFailed(meter: ArmedMeter, next: NextFunction, error: unknown): void {
  meter.context.resolverFailed(meter.plan.entries[0]?.label ?? 'meter()', error);
  next(error);
}

function admit(
  meter: ArmedMeter,
  req: Request,
  res: Response,
  next: NextFunction,
  customer: CustomerRef | undefined | null,
  /** What already watches `res` (an earlier meter on this request), read by the caller. */
  earlier: FinishWatcher | undefined,
): void {
  const context = meter.context;
  if (customer == null) {
    const policy = context.adapter.onMissingCustomer;
    if (policy !== 'skip') {
      context.refusedWithoutCustomer();
      res.sendStatus(policy);
      return;
    }
  } else if (meter.checksCapacity && !context.admits(customer, meter.plan.entries)) {
    // Serving now would be usage we cannot bill: refuse until the next checkpoint empties the tally.
    res.setHeader('Retry-After', context.retryAfterSeconds);
    res.sendStatus(503);
    return;
  }
  const billed = customer ?? undefined;
  if (earlier === undefined) watchFinish(res, new MeteredRequest(req, res, meter, billed), req);
  else if (earlier instanceof MeteredRequest) earlier.add(meter, billed);
  else watchOnItsOwn(req, res, new MeteredRequest(req, res, meter, billed));
  if (meter.countsBytes) countBodyBytes(res);
  next();
}

/**
 * Something else (another adapter on the same server) already watches this response: count from a `finish` listener
 * of our own rather than take its place.
 */
function watchOnItsOwn(req: Request, res: Response, state: MeteredRequest): void {
  res.on('finish', () => {
    if (req.socket?.destroyed === true) state.undelivered();
    else state.finished(res.statusCode);
  });
}

/** A custom `successStatus()` on the common path; one that throws counts nothing, as in {@link count}. */
function succeeded(meter: ArmedMeter, isSuccess: SuccessPredicate, status: number): boolean {
  try {
    return isSuccess(status);
  } catch (error) {
    const entry = meter.plan.entries[0] as MeterEntry;
    meter.context.callbackFailed(entry.label, entry.dimension, error);
    return false;
  }
}

function count(
  meter: ArmedMeter,
  customer: CustomerRef | undefined,
  req: Request,
  res: Response,
  status: number,
  claimed: readonly [MeteringContext, string][] | undefined,
): void {
  const { context, plan } = meter;
  const entries = plan.entries;
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i] as MeterEntry;
    if (claimed?.some(([c, dimension]) => c === context && dimension === entry.dimension)) continue;
    try {
      if (!entry.isSuccess(status)) continue;
      if (entry.when !== undefined && !entry.when(req, res)) continue;
      const quantity = entry.quantityOf === undefined ? entry.quantity : entry.quantityOf(req, res);
      context.count(customer, entry.dimension, quantity, entry.label, entry.tagsOf?.(req, res));
    } catch (error) {
      context.callbackFailed(entry.label, entry.dimension, error);
    }
  }
}
