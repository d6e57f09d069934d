/** The guard hook of `@Meter()`: meters a route from Nest's guard stage, without interceptor machinery. */
import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { METERING_GLOBAL_INTERCEPTOR } from './metering.constants.js';
import { RequestMeteringService } from './request-metering.service.js';

/**
 * Meters the routes `@Meter()` marks from Nest's guard stage: the same work as {@link MeteringInterceptor} (customer,
 * missing-customer policy, capacity, counting once the response has finished with a success status, all in the
 * module's request metering), without the interceptor machinery Nest runs around every intercepted handler
 * (observables and async resources, about a seventh of a bare route's throughput). Routes that count from the
 * handler's result are left to the interceptor `@Meter()` attaches for them, and a global `MeteringInterceptor`
 * (`globalInterceptor`) meters every route itself.
 *
 * The module makes it the last guard of each route at start-up, so the customer resolver sees what every other
 * guard (authentication included) attached.
 */
@Injectable()
export class MeteringGuard implements CanActivate {
  constructor(
    private readonly requests: RequestMeteringService,
    @Inject(METERING_GLOBAL_INTERCEPTOR) private readonly globalInterceptor: boolean,
  ) {}

  canActivate(context: ExecutionContext): true | Promise<true> {
    if (this.globalInterceptor) return true;
    // A promise only when the customer resolver is async.
    const started = this.requests.start(context, this.requests.defaults, true);
    return started instanceof Promise ? started.then(() => true) : true;
  }
}
