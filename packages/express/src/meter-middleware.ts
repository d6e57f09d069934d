import type { ServerResponse } from 'node:http';
import type { CustomerRef } from '@meterkit/core';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { MeterEntry, MeterPlan } from './meter-spec.js';
import type { MeteringContext } from './metering-context.js';
import { countBodyBytes } from './response-bytes.js';
import { type FinishHandler, whenFinished } from './response-finish.js';

/** A `meter()` bound to its metering. */
interface ArmedMeter {
  readonly plan: MeterPlan;
  readonly context: MeteringContext;
}

/** A meter armed on one request, with the customer its metering resolved (undefined: none, policy `skip`). */
interface ArmedOnRequest {
  readonly meter: ArmedMeter;
  readonly customer: CustomerRef | undefined;
}

/**
 * The metering state of one request, kept off the request and response objects (see `response-finish.ts` for why).
 * One object per metered request; a second meter on the same request (router-level plus route-level) adds to it.
 */
class MeteredRequest implements FinishHandler {
  /** Meters after the first; rare. */
  more: ArmedOnRequest[] | undefined = undefined;

  constructor(
    readonly req: Request,
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

  /** Runs once the response has finished. Never throws: an exception here would crash the process. */
  finished(res: ServerResponse): void {
    const response = res as Response;
    const status = response.statusCode;
    if (this.more === undefined) {
      count(this.meter, this.customer, this.req, response, status, undefined);
      return;
    }
    // Several meters on one request: each dimension counts once per metering, and the innermost meter (the last to
    // run) decides.
    const all: ArmedOnRequest[] = [this, ...this.more];
    const claimed: string[] = [];
    for (let i = all.length - 1; i >= 0; i--) {
      const { meter, customer } = all[i] as ArmedOnRequest;
      count(meter, customer, this.req, response, status, claimed);
      const id = contextIds.get(meter.context);
      for (const entry of meter.plan.entries) claimed.push(`${id}\n${entry.dimension}`);
    }
  }
}

/** Tells meterings apart in the dedupe keys of a request metered by more than one (rare). */
const contextIds = new WeakMap<MeteringContext, number>();
let nextContextId = 0;

/** The metering state of each metered request, by response. */
const meteredRequests = new WeakMap<object, MeteredRequest>();

/** @internal Builds the middleware of one `meter(...)` call. */
export function meterMiddleware(context: MeteringContext, plan: MeterPlan): RequestHandler {
  const meter: ArmedMeter = { plan, context };
  if (!contextIds.has(context)) contextIds.set(context, nextContextId++);
  const resolve = context.adapter.customer;
  return function meterkitMeter(req: Request, res: Response, next: NextFunction): void {
    const earlier = meteredRequests.get(res);
    const resolved = earlier?.resolvedBy(context);
    if (resolved !== undefined) {
      admit(meter, req, res, next, resolved.customer, earlier);
      return;
    }
    let customer: ReturnType<typeof resolve>;
    try {
      customer = resolve(req);
    } catch (error) {
      next(error);
      return;
    }
    if (customer != null && typeof (customer as PromiseLike<unknown>).then === 'function') {
      (customer as PromiseLike<CustomerRef | undefined | null>).then(
        (value) => admit(meter, req, res, next, value, meteredRequests.get(res)),
        (error: unknown) => next(error),
      );
      return;
    }
    admit(meter, req, res, next, customer as CustomerRef | undefined | null, earlier);
  };
}

function admit(
  meter: ArmedMeter,
  req: Request,
  res: Response,
  next: NextFunction,
  customer: CustomerRef | undefined | null,
  earlier: MeteredRequest | undefined,
): void {
  const context = meter.context;
  if (customer == null) {
    const policy = context.adapter.onMissingCustomer;
    if (policy !== 'skip') {
      context.counters.refusedWithoutCustomer += 1;
      res.sendStatus(policy);
      return;
    }
  } else if (context.rejectsWhenFull) {
    const { engine } = context;
    for (const entry of meter.plan.entries) {
      if (!engine.admits(customer, entry.dimension)) {
        // Serving now would be usage we cannot bill: refuse until the next checkpoint empties the tally.
        context.counters.refusedAtCapacity += 1;
        res.setHeader('Retry-After', context.retryAfterSeconds);
        res.sendStatus(503);
        return;
      }
    }
  }
  const billed = customer ?? undefined;
  if (earlier === undefined) {
    const state = new MeteredRequest(req, meter, billed);
    meteredRequests.set(res, state);
    whenFinished(res, state);
  } else {
    earlier.add(meter, billed);
  }
  if (meter.plan.countsBytes) countBodyBytes(res);
  next();
}

function count(
  meter: ArmedMeter,
  customer: CustomerRef | undefined,
  req: Request,
  res: Response,
  status: number,
  claimed: readonly string[] | undefined,
): void {
  const { context, plan } = meter;
  const entries = plan.entries;
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i] as MeterEntry;
    if (claimed?.includes(`${contextIds.get(context)}\n${entry.dimension}`)) continue;
    try {
      if (!entry.isSuccess(status)) continue;
      if (entry.when !== undefined && !entry.when(req, res)) continue;
      const quantity = entry.quantityOf === undefined ? entry.quantity : entry.quantityOf(req, res);
      if (customer === undefined) context.servedWithoutCustomer(entry, quantity, req.method);
      else context.engine.record(customer, entry.dimension, quantity);
    } catch (error) {
      context.callbackFailed(entry, error);
    }
  }
}
