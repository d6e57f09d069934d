import type { ServerResponse } from 'node:http';
import type { CustomerRef } from '@meterkit/core';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { MeterPlan } from './meter-spec.js';
import type { MeteringContext } from './metering-context.js';
import { countBodyBytes } from './response-bytes.js';

/** A `meter()` bound to its metering: what the `finish` handler needs, reached from the response. */
interface ArmedMeter {
  readonly plan: MeterPlan;
  readonly context: MeteringContext;
}

/** The resolver found nobody: the request is served (policy `skip`) but counts nothing. */
const NO_CUSTOMER = Symbol('meterkit.noCustomer');
const CUSTOMER = Symbol('meterkit.customer');
const METER = Symbol('meterkit.meter');
const MORE_METERS = Symbol('meterkit.moreMeters');

/**
 * Per-request state lives on the response under symbols, so one shared `finish` handler serves every request without
 * a closure per request.
 */
interface MeteredResponse extends Response {
  [CUSTOMER]?: CustomerRef | typeof NO_CUSTOMER;
  [METER]?: ArmedMeter;
  /** Meters after the first on the same request (router-level plus route-level); rare. */
  [MORE_METERS]?: ArmedMeter[];
}

/** @internal Builds the middleware of one `meter(...)` call. */
export function meterMiddleware(context: MeteringContext, plan: MeterPlan): RequestHandler {
  const meter: ArmedMeter = { plan, context };
  const resolve = context.adapter.customer;
  return function meterkitMeter(req: Request, res: Response, next: NextFunction): void {
    const state = res as MeteredResponse;
    // An outer meter of the same metering already resolved this request's customer.
    if (state[METER]?.context === context) {
      const known = state[CUSTOMER];
      admit(meter, state, next, known === NO_CUSTOMER ? undefined : known);
      return;
    }
    let resolved: ReturnType<typeof resolve>;
    try {
      resolved = resolve(req);
    } catch (error) {
      next(error);
      return;
    }
    if (resolved != null && typeof (resolved as PromiseLike<unknown>).then === 'function') {
      (resolved as PromiseLike<CustomerRef | undefined | null>).then(
        (customer) => admit(meter, state, next, customer),
        (error: unknown) => next(error),
      );
      return;
    }
    admit(meter, state, next, resolved as CustomerRef | undefined | null);
  };
}

function admit(
  meter: ArmedMeter,
  res: MeteredResponse,
  next: NextFunction,
  customer: CustomerRef | undefined | null,
): void {
  const context = meter.context;
  if (customer == null) {
    const policy = context.adapter.onMissingCustomer;
    if (policy !== 'skip') {
      context.counters.refusedWithoutCustomer += 1;
      res.sendStatus(policy);
      return;
    }
    arm(meter, res, NO_CUSTOMER);
    next();
    return;
  }
  if (context.rejectsWhenFull) {
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
  arm(meter, res, customer);
  next();
}

function arm(meter: ArmedMeter, res: MeteredResponse, customer: CustomerRef | typeof NO_CUSTOMER): void {
  const first = res[METER];
  if (first === undefined) {
    res[METER] = meter;
    res[CUSTOMER] = customer;
    res.on('finish', onFinish);
  } else if (first !== meter) {
    const more = res[MORE_METERS];
    if (more === undefined) res[MORE_METERS] = [meter];
    else if (!more.includes(meter)) more.push(meter);
  }
  if (meter.plan.countsBytes) countBodyBytes(res);
}

/**
 * Shared by every metered response; runs once the whole response has been handed to the OS. A request aborted before
 * that never emits `finish`, so it counts nothing. Never throws: an exception here would crash the process.
 */
function onFinish(this: ServerResponse): void {
  const res = this as MeteredResponse;
  const first = res[METER] as ArmedMeter;
  const more = res[MORE_METERS];
  if (more === undefined) {
    count(first, res, undefined);
    return;
  }
  // Several meters on one request: each dimension counts once, and the innermost meter (the last to run) decides.
  const meters = [first, ...more];
  const claimed: string[] = [];
  for (let i = meters.length - 1; i >= 0; i--) {
    const meter = meters[i] as ArmedMeter;
    count(meter, res, claimed);
    for (const entry of meter.plan.entries) claimed.push(entry.dimension);
  }
}

function count(meter: ArmedMeter, res: MeteredResponse, claimed: readonly string[] | undefined): void {
  const { context, plan } = meter;
  const customer = res[CUSTOMER];
  const req = res.req;
  const status = res.statusCode;
  const entries = plan.entries;
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i] as MeterPlan['entries'][number];
    if (claimed?.includes(entry.dimension)) continue;
    try {
      if (!entry.isSuccess(status)) continue;
      if (entry.when !== undefined && !entry.when(req, res)) continue;
      const quantity = entry.quantityOf === undefined ? entry.quantity : entry.quantityOf(req, res);
      if (customer === NO_CUSTOMER || customer === undefined)
        context.servedWithoutCustomer(entry, quantity, req?.method);
      else context.engine.record(customer, entry.dimension, quantity);
    } catch (error) {
      context.callbackFailed(entry, error);
    }
  }
}
