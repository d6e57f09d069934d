/** The interceptor hook of `@Meter()`: meters the routes that count from the handler's result; subclassable. */
import type { CustomerRef } from '@meterkit/core';
import {
  type CallHandler,
  type ExecutionContext,
  Inject,
  Injectable,
  type NestInterceptor,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { type Observable, tap } from 'rxjs';
import type { MeterDefinition } from './meter.metadata.js';
import { METERING_ADAPTER_OPTIONS } from './metering.constants.js';
import type { ResolvedMeteringOptions } from './metering-options.js';
import {
  type MeteringHooks,
  RequestMeteringService,
  type RouteMetering,
} from './request-metering.service.js';
import type { ResponseMeter } from './response-meter.js';

export type { RouteMetering };

/**
 * Counts usage for the routes `@Meter()` marks, once their response has finished with a success status. The
 * customer is resolved before the handler runs (after guards, so it can read what authentication attached). It meters
 * the routes whose dimensions read the handler's result; {@link MeteringGuard} meters the others. Both hand the work
 * to the module's request metering; this class adds only the handler's observable and the hooks below.
 *
 * Built to be subclassed: override {@link MeteringInterceptor.resolveCustomer | `resolveCustomer()`},
 * {@link MeteringInterceptor.shouldSkip | `shouldSkip()`} or {@link MeteringInterceptor.getQuantity | `getQuantity()`}
 * and register the subclass with `MeteringModule.forRoot({ globalInterceptor: MySubclass, … })`.
 */
@Injectable()
export class MeteringInterceptor implements NestInterceptor {
  /** This interceptor's answers, its subclass's overrides included, as the request metering asks for them. */
  private readonly hooks: MeteringHooks;
  /** A subclass's `getQuantity()` may read the result: then every route hands it over. */
  private readonly quantityMayUseResult: boolean;

  constructor(
    private readonly requests: RequestMeteringService,
    protected readonly reflector: Reflector,
    @Inject(METERING_ADAPTER_OPTIONS) protected readonly options: ResolvedMeteringOptions,
  ) {
    this.quantityMayUseResult = this.getQuantity !== MeteringInterceptor.prototype.getQuantity;
    this.hooks = {
      routeOf: (context) => this.routeOf(context),
      shouldSkip: (context) => this.shouldSkip(context),
      resolveCustomer: (context) => this.resolveCustomer(context),
      getQuantity: (context, definition, result) => this.getQuantity(context, definition, result),
    };
  }

  intercept(
    context: ExecutionContext,
    next: CallHandler,
  ): Observable<unknown> | Promise<Observable<unknown>> {
    const meter = this.requests.start(context, this.hooks, false);
    if (meter instanceof Promise) return meter.then((started) => this.handle(started, next));
    return this.handle(meter, next);
  }

  private handle(meter: ResponseMeter | undefined, next: CallHandler): Observable<unknown> {
    // No quantity needs the result: leave the handler's observable alone. A thrown exception then shows as the
    // error status its exception filter answers, which counts nothing.
    return meter?.route.usesResult === true ? next.handle().pipe(tap(meter)) : next.handle();
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
    return this.requests.defaults.getQuantity(context, definition, result);
  }

  /** What the route meters (null: nothing), cached per handler. */
  protected routeOf(context: ExecutionContext): RouteMetering | null {
    return this.requests.routeOf(context, this.quantityMayUseResult);
  }
}
