import type { CustomerRef } from '@meterkit/core';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { MeterEntry, MeterPlan } from './meter-spec.js';
import type { MeteringContext } from './metering-context.js';
import { countBodyBytes } from './response-bytes.js';

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
 * Where a request's metering state lives: `res.locals`, a plain object Express creates per request. Express swaps the
 * prototype of `req` and `res` per request, so V8 cannot cache their shape and every property access on them is slow
 * (measured: adding one property costs more than the rest of the metering); reads and writes on `res.locals` are not.
 */
const STATE = Symbol('meterkit.request');

type Locals = Record<symbol, MeteredRequest | undefined>;

/**
 * The metering state of one request: one object and one `finish` listener per metered request. A second meter on the
 * same request (router-level plus route-level) adds to it.
 */
class MeteredRequest implements ArmedOnRequest {
  /** Meters after the first; rare. */
  more: ArmedOnRequest[] | undefined = undefined;
  /** Runs once the whole response has been handed to the OS; a request aborted before that never gets here. */
  readonly onFinish: () => void;

  constructor(
    req: Request,
    res: Response,
    readonly meter: ArmedMeter,
    readonly customer: CustomerRef | undefined,
  ) {
    this.onFinish = () => this.settle(req, res);
  }

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

  /** Counts what the finished response earned. Never throws: an exception in a `finish` listener would crash. */
  private settle(req: Request, res: Response): void {
    const status = res.statusCode;
    if (this.more === undefined) {
      count(this.meter, this.customer, req, res, status, undefined);
      return;
    }
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
  const meter: ArmedMeter = { plan, context };
  const resolve = context.adapter.customer;
  return function meterkitMeter(req: Request, res: Response, next: NextFunction): void {
    const locals = localsOf(res);
    const earlier = locals[STATE];
    const resolved = earlier?.resolvedBy(context);
    if (resolved !== undefined) {
      admit(meter, req, res, next, resolved.customer, locals);
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
        (value) => admit(meter, req, res, next, value, locals),
        (error: unknown) => next(error),
      );
      return;
    }
    admit(meter, req, res, next, customer as CustomerRef | undefined | null, locals);
  };
}

/** `res.locals`, which Express 4 and 5 create for every request; made here when something else built `res`. */
function localsOf(res: Response): Locals {
  let locals = res.locals as Locals | undefined;
  if (locals == null || typeof locals !== 'object') {
    locals = Object.create(null) as Locals;
    res.locals = locals as Response['locals'];
  }
  return locals;
}

function admit(
  meter: ArmedMeter,
  req: Request,
  res: Response,
  next: NextFunction,
  customer: CustomerRef | undefined | null,
  locals: Locals,
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
  const earlier = locals[STATE];
  if (earlier === undefined) {
    const state = new MeteredRequest(req, res, meter, billed);
    locals[STATE] = state;
    res.on('finish', state.onFinish);
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
      if (customer === undefined) context.servedWithoutCustomer(entry, quantity, req.method);
      else context.engine.record(customer, entry.dimension, quantity);
    } catch (error) {
      context.callbackFailed(entry, error);
    }
  }
}
