/** The per-request metering both hooks share: customer, missing-customer and capacity policies, counting at finish. */
import type { ServerResponse } from 'node:http';
import { type CustomerRef, MeteringEngine, type UsageTags } from '@meterkit/core';
import {
  countBodyBytes,
  isWatched,
  type RawRequest,
  type RawResponse,
  RequestMetering,
  watchFinish,
} from '@meterkit/core/http';
import {
  type ExecutionContext,
  ForbiddenException,
  Inject,
  Injectable,
  ServiceUnavailableException,
  UnauthorizedException,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { countsBytes, type MeterDefinition, MeterMetadata, SkipMeter, usesResult } from './meter.metadata.js';
import { METERING_ADAPTER_OPTIONS } from './metering.constants.js';
import type { ResolvedMeteringOptions } from './metering-options.js';
import { rawResponseOf } from './raw-response.js';
import { ResponseMeter } from './response-meter.js';

/** A route handler, as Nest hands it over. */
type Handler = ReturnType<ExecutionContext['getHandler']>;
/** A controller class. */
type Controller = ReturnType<ExecutionContext['getClass']>;

type Resolved = CustomerRef | undefined | null;

/** What a route meters, worked out once per handler. */
export interface RouteMetering {
  /** `Controller.method`, for messages. */
  readonly where: string;
  readonly meters: readonly MeterDefinition[];
  /**
   * Whether counting needs the value the handler returned: then the interceptor watches the handler's observable,
   * which also tells it when the handler threw. Otherwise it leaves the observable untouched (the fast path).
   */
  readonly usesResult: boolean;
  /** Whether a quantity needs the body bytes counted as they are written (`countBytes`, `responseBytesIn()`). */
  readonly countsBytes: boolean;
}

/**
 * @internal The decisions a hook may take over (a `MeteringInterceptor` subclass overrides them); the guard uses the
 * module's: {@link RequestMeteringService.defaults}.
 */
export interface MeteringHooks {
  routeOf(context: ExecutionContext): RouteMetering | null;
  shouldSkip(context: ExecutionContext): boolean;
  resolveCustomer(context: ExecutionContext): Resolved | PromiseLike<Resolved>;
  getQuantity(context: ExecutionContext, definition: MeterDefinition, result: unknown): number;
}

/**
 * @internal Meters one HTTP request for {@link MeteringGuard} and {@link MeteringInterceptor} alike: resolves the
 * customer before the handler, applies the missing-customer and capacity policies, watches the raw response, and once
 * Node has finished it with a success status counts each dimension with `engine.record()` (through core's
 * `RequestMetering`, the post-response policy shared with the Express adapter).
 */
@Injectable()
export class RequestMeteringService {
  /** Core's policy and counters (`servedWithoutCustomer`, `undelivered`, …), shared with the Express adapter. */
  readonly policy: RequestMetering;
  /** The module's own answers: its `customer` resolver, `@Meter()` quantities, no skipping. */
  readonly defaults: MeteringHooks;
  private readonly routes = new WeakMap<Handler, CachedRoute>();
  private readonly routesReadingResult = new WeakMap<Handler, CachedRoute>();

  constructor(
    @Inject(MeteringEngine) engine: MeteringEngine,
    private readonly reflector: Reflector,
    @Inject(METERING_ADAPTER_OPTIONS) private readonly options: ResolvedMeteringOptions,
  ) {
    this.policy = new RequestMetering(engine, options.onMissingCustomer);
    this.defaults = {
      routeOf: (context) => this.routeOf(context, false),
      shouldSkip: () => false,
      resolveCustomer: (context) => options.customer(context),
      getQuantity: quantityOf,
    };
  }

  /**
   * Starts metering the request before its handler runs: undefined when it is not metered (not HTTP, no `@Meter()`,
   * skipped, already metered by another hook, or left to the interceptor when `leaveResultToInterceptor` and the
   * route reads the result), a promise when the resolver returned one. A resolver that throws or rejects fails the
   * request (core's rule): serving it unbilled would give the usage away.
   * @throws Nest's 401/403 (missing customer) or 503 (at capacity) exceptions, or the resolver's error.
   */
  start(
    context: ExecutionContext,
    hooks: MeteringHooks,
    leaveResultToInterceptor: boolean,
  ): ResponseMeter | undefined | Promise<ResponseMeter | undefined> {
    if (context.getType() !== 'http') return undefined;
    const route = hooks.routeOf(context);
    if (route === null || (leaveResultToInterceptor && route.usesResult) || hooks.shouldSkip(context)) {
      return undefined;
    }
    const raw = rawResponseOf(context.getArgByIndex(1));
    // Express's request and Fastify's both expose the connection's socket, which finds the response's watcher.
    const request = context.getArgByIndex<RawRequest>(0);
    // Already metered: by the route's guard, or by another MeteringInterceptor (global + route, controller + handler).
    if (isWatched(raw, request)) return undefined;
    let customer: Resolved | PromiseLike<Resolved>;
    try {
      customer = hooks.resolveCustomer(context);
    } catch (error) {
      this.policy.resolverFailed(route.where, error);
      throw error;
    }
    if (customer != null && typeof (customer as PromiseLike<Resolved>).then === 'function') {
      return Promise.resolve(customer as PromiseLike<Resolved>).then(
        (resolved) => this.admit(context, hooks, route, raw, request, resolved ?? undefined),
        (error: unknown) => {
          this.policy.resolverFailed(route.where, error);
          throw error;
        },
      );
    }
    return this.admit(context, hooks, route, raw, request, (customer as Resolved) ?? undefined);
  }

  /**
   * Counts a finished response, each dimension whose status rule, `when` and quantity say so. Runs from the
   * response's `finish`, so it must never throw: a throwing callback counts nothing for its dimension.
   */
  count(meter: ResponseMeter, statusCode: number): void {
    if (meter.failed) return;
    const { context, hooks, route, customer, result } = meter;
    for (const definition of route.meters) {
      let quantity: number;
      let tags: UsageTags | undefined;
      try {
        if (!(definition.successStatus ?? this.options.successStatus)(statusCode)) continue;
        if (definition.when !== undefined && !definition.when(context, result)) continue;
        quantity = hooks.getQuantity(context, definition, result);
        if (definition.tags !== undefined) tags = definition.tags(context, result);
      } catch (error) {
        this.policy.callbackFailed(route.where, definition.dimension, error);
        continue;
      }
      this.policy.count(customer, definition.dimension, quantity, route.where, tags);
    }
  }

  /**
   * What the route meters (null: nothing), cached per handler. `quantityMayUseResult`: a hook's own quantity may read
   * the result, so every route hands it over.
   */
  routeOf(context: ExecutionContext, quantityMayUseResult: boolean): RouteMetering | null {
    const handler = context.getHandler();
    const controller = context.getClass();
    const cache = quantityMayUseResult ? this.routesReadingResult : this.routes;
    const cached = cache.get(handler);
    if (cached !== undefined && cached.controller === controller) return cached.route;
    const route = this.readRoute(handler, controller, quantityMayUseResult);
    cache.set(handler, { controller, route });
    return route;
  }

  /** Applies the missing-customer and capacity policies, then watches the response. */
  private admit(
    context: ExecutionContext,
    hooks: MeteringHooks,
    route: RouteMetering,
    raw: RawResponse,
    request: RawRequest,
    customer: CustomerRef | undefined,
  ): ResponseMeter {
    const policy = this.policy;
    if (customer === undefined) {
      if (policy.onMissingCustomer !== 'skip') {
        policy.refusedWithoutCustomer();
        throw policy.onMissingCustomer === 401 ? new UnauthorizedException() : new ForbiddenException();
      }
    } else if (policy.rejectsWhenFull && !policy.admits(customer, route.meters)) {
      // The same answer as the Express adapter's: the tally empties at the next checkpoint.
      (raw as unknown as ServerResponse).setHeader('Retry-After', policy.retryAfterSeconds);
      throw new ServiceUnavailableException('Usage metering is at capacity; retry shortly.');
    }
    const meter = new ResponseMeter(this, hooks, context, route, customer);
    watchFinish(raw, meter, request);
    if (route.countsBytes) countBodyBytes(raw as unknown as ServerResponse);
    return meter;
  }

  private readRoute(
    handler: Handler,
    controller: Controller,
    quantityMayUseResult: boolean,
  ): RouteMetering | null {
    if (this.reflector.getAllAndOverride(SkipMeter, [handler, controller]) === true) return null;
    const meters = this.reflector.getAllAndOverride(MeterMetadata, [handler, controller]);
    if (meters === undefined || meters.length === 0) return null;
    return {
      where: `${controller.name}.${handler.name}`,
      meters,
      usesResult: quantityMayUseResult || meters.some(usesResult),
      countsBytes: meters.some(countsBytes),
    };
  }
}

interface CachedRoute {
  readonly controller: Controller;
  readonly route: RouteMetering | null;
}

/** The quantity `@Meter()` declared: a number, or its function of the context and the handler's result. */
function quantityOf(context: ExecutionContext, definition: MeterDefinition, result: unknown): number {
  const quantity = definition.quantity;
  return typeof quantity === 'number' ? quantity : quantity(context, result);
}
