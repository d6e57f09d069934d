import type { ServerResponse } from 'node:http';
import type { CustomerRef, UsageTags } from '@meterkit/core';
import {
  countBodyBytes,
  type FinishWatcher,
  isWatched,
  type RawRequest,
  type RawResponse,
  watchFinish,
} from '@meterkit/core/http';
import {
  type CallHandler,
  type ExecutionContext,
  ForbiddenException,
  Inject,
  Injectable,
  type NestInterceptor,
  ServiceUnavailableException,
  UnauthorizedException,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { type Observable, tap } from 'rxjs';
import { countsBytes, type MeterDefinition, MeterMetadata, SkipMeter, usesResult } from './meter.metadata.js';
import { METERING_ADAPTER_OPTIONS } from './metering.constants.js';
import { MeteringService } from './metering.service.js';
import type { ResolvedAdapterOptions } from './metering-module-options.interface.js';
import { rawResponseOf } from './raw-response.js';

/** A route handler, as Nest hands it over. */
type Handler = ReturnType<ExecutionContext['getHandler']>;
/** A controller class. */
type Controller = ReturnType<ExecutionContext['getClass']>;

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

type Resolved = CustomerRef | undefined | null;

/** @internal The state of one metered request, from the interceptor to the response's `finish`. */
export class ResponseMeter implements FinishWatcher {
  result: unknown = undefined;
  failed = false;
  constructor(
    readonly interceptor: MeteringInterceptor,
    readonly context: ExecutionContext,
    readonly route: RouteMetering,
    readonly customer: CustomerRef | undefined,
  ) {}
  // The tap observer, on routes that use the result: remember what the handler returned, and whether it threw.
  next(value: unknown): void {
    this.result = value;
  }
  error(): void {
    this.failed = true;
  }
  finished(statusCode: number): void {
    this.interceptor.settleResponse(this, statusCode);
  }
  undelivered(): void {
    this.interceptor.metering.requests.undelivered();
  }
}

/**
 * Counts usage for the routes `@Meter()` marks, once their response has finished with a success status. The
 * customer is resolved before the handler runs (after guards, so it can read what authentication attached). It meters
 * the routes whose dimensions read the handler's result; {@link MeteringGuard} does the same work for the others.
 *
 * Built to be subclassed: override {@link MeteringInterceptor.resolveCustomer | `resolveCustomer()`},
 * {@link MeteringInterceptor.shouldSkip | `shouldSkip()`} or {@link MeteringInterceptor.getQuantity | `getQuantity()`}
 * and register the subclass with `MeteringModule.forRoot({ globalInterceptor: MySubclass, … })`.
 */
@Injectable()
export class MeteringInterceptor implements NestInterceptor {
  private readonly routes = new WeakMap<
    Handler,
    { readonly controller: Controller; readonly route: RouteMetering | null }
  >();

  /** A subclass's `getQuantity()` may read the result: then every route hands it over. */
  private readonly quantityMayUseResult: boolean;

  constructor(
    /** @internal */
    readonly metering: MeteringService,
    protected readonly reflector: Reflector,
    @Inject(METERING_ADAPTER_OPTIONS) protected readonly options: ResolvedAdapterOptions,
  ) {
    this.quantityMayUseResult = this.getQuantity !== MeteringInterceptor.prototype.getQuantity;
  }

  intercept(
    context: ExecutionContext,
    next: CallHandler,
  ): Observable<unknown> | Promise<Observable<unknown>> {
    const meter = this.startMetering(context, false);
    if (meter instanceof Promise) return meter.then((started) => this.handle(started, next));
    return this.handle(meter, next);
  }

  /**
   * @internal Meters the request from {@link MeteringGuard}: everything `intercept()` does before the handler, except
   * on routes that count from the handler's result, which are left to the interceptor `@Meter()` attached for them.
   * A promise when the customer resolver returned one.
   */
  meterFromGuard(context: ExecutionContext): undefined | Promise<unknown> {
    const meter = this.startMetering(context, true);
    return meter instanceof Promise ? meter : undefined;
  }

  private handle(meter: ResponseMeter | undefined, next: CallHandler): Observable<unknown> {
    // No quantity needs the result: leave the handler's observable alone. A thrown exception then shows as the
    // error status its exception filter answers, which counts nothing.
    return meter?.route.usesResult === true ? next.handle().pipe(tap(meter)) : next.handle();
  }

  /**
   * Resolves the customer, applies the policies and watches the response; undefined when not metering it, a promise
   * when the resolver returned one. A resolver that throws or rejects fails the request (core's rule): serving it
   * unbilled would give the usage away.
   */
  private startMetering(
    context: ExecutionContext,
    fromGuard: boolean,
  ): ResponseMeter | undefined | Promise<ResponseMeter | undefined> {
    if (context.getType() !== 'http') return undefined;
    const route = this.routeOf(context);
    if (route === null || (fromGuard && route.usesResult) || this.shouldSkip(context)) return undefined;
    const raw = rawResponseOf(context.getArgByIndex(1));
    // Express's request and Fastify's both expose the connection's socket, which finds the response's watcher.
    const request = context.getArgByIndex<RawRequest>(0);
    // Already metered: by the route's guard, or by another MeteringInterceptor (global + route, controller + handler).
    if (isWatched(raw, request)) return undefined;
    let customer: Resolved | PromiseLike<Resolved>;
    try {
      customer = this.resolveCustomer(context);
    } catch (error) {
      this.metering.requests.resolverFailed(route.where, error);
      throw error;
    }
    if (customer != null && typeof (customer as PromiseLike<Resolved>).then === 'function') {
      return Promise.resolve(customer as PromiseLike<Resolved>).then(
        (resolved) => this.admit(context, route, raw, request, resolved ?? undefined),
        (error: unknown) => {
          this.metering.requests.resolverFailed(route.where, error);
          throw error;
        },
      );
    }
    return this.admit(context, route, raw, request, (customer as Resolved) ?? undefined);
  }

  /** Applies the missing-customer and capacity policies, then watches the response. */
  private admit(
    context: ExecutionContext,
    route: RouteMetering,
    raw: RawResponse,
    request: RawRequest,
    customer: CustomerRef | undefined,
  ): ResponseMeter {
    const requests = this.metering.requests;
    if (customer === undefined) {
      const policy = requests.onMissingCustomer;
      if (policy !== 'skip') {
        requests.refusedWithoutCustomer();
        throw policy === 401 ? new UnauthorizedException() : new ForbiddenException();
      }
    } else if (requests.rejectsWhenFull && !requests.admits(customer, route.meters)) {
      // The same answer as the Express adapter's: the tally empties at the next checkpoint.
      (raw as unknown as ServerResponse).setHeader('Retry-After', requests.retryAfterSeconds);
      throw new ServiceUnavailableException('Usage metering is at capacity; retry shortly.');
    }
    const meter = new ResponseMeter(this, context, route, customer);
    watchFinish(raw, meter, request);
    if (route.countsBytes) countBodyBytes(raw as unknown as ServerResponse);
    return meter;
  }

  /**
   * @internal Counts a finished response. Runs from the response's `finish` event, so it must never throw.
   */
  settleResponse(meter: ResponseMeter, statusCode: number): void {
    if (meter.failed) return;
    const { context, route, customer, result } = meter;
    const requests = this.metering.requests;
    for (const definition of route.meters) {
      let quantity: number;
      let tags: UsageTags | undefined;
      try {
        if (!(definition.successStatus ?? this.options.successStatus)(statusCode)) continue;
        if (definition.when !== undefined && !definition.when(context, result)) continue;
        quantity = this.getQuantity(context, definition, result);
        if (definition.tags !== undefined) tags = definition.tags(context, result);
      } catch (error) {
        requests.callbackFailed(route.where, definition.dimension, error);
        continue;
      }
      requests.count(customer, definition.dimension, quantity, route.where, tags);
    }
  }

  /**
   * Who is billed for this request. By default the module's `customer` resolver; return `undefined` for nobody.
   * Read the authenticated request, never a raw client header.
   */
  protected resolveCustomer(
    context: ExecutionContext,
  ): CustomerRef | undefined | null | PromiseLike<CustomerRef | undefined | null> {
    return this.options.customer(context);
  }

  /** Return true to serve this request without metering it (checked after `@SkipMeter()`). */
  protected shouldSkip(_context: ExecutionContext): boolean {
    return false;
  }

  /** Units of `definition` for this finished response. Must return a non-negative integer. */
  protected getQuantity(context: ExecutionContext, definition: MeterDefinition, result: unknown): number {
    const quantity = definition.quantity;
    return typeof quantity === 'number' ? quantity : quantity(context, result);
  }

  /** What the route meters (null: nothing), cached per handler. */
  protected routeOf(context: ExecutionContext): RouteMetering | null {
    const handler = context.getHandler();
    const controller = context.getClass();
    const cached = this.routes.get(handler);
    if (cached !== undefined && cached.controller === controller) return cached.route;
    const route = this.readRoute(handler, controller);
    this.routes.set(handler, { controller, route });
    return route;
  }

  private readRoute(handler: Handler, controller: Controller): RouteMetering | null {
    if (this.reflector.getAllAndOverride(SkipMeter, [handler, controller]) === true) return null;
    const meters = this.reflector.getAllAndOverride(MeterMetadata, [handler, controller]);
    if (meters === undefined || meters.length === 0) return null;
    const needsResult = this.quantityMayUseResult || meters.some(usesResult);
    return {
      where: `${controller.name}.${handler.name}`,
      meters,
      usesResult: needsResult,
      countsBytes: meters.some(countsBytes),
    };
  }
}
