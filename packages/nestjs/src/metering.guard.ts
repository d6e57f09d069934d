import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { METERING_GLOBAL_INTERCEPTOR } from './metering.constants.js';
import { MeteringInterceptor } from './metering.interceptor.js';

/**
 * Meters the routes `@Meter()` marks from Nest's guard stage: the same work as {@link MeteringInterceptor} (customer,
 * missing-customer policy, capacity, counting once the response has finished with a success status), without the
 * interceptor machinery Nest runs around every intercepted handler (observables and async resources, about a seventh
 * of a bare route's throughput). Routes that count from the handler's result are left to the interceptor `@Meter()`
 * attaches for them, and a global `MeteringInterceptor` (`globalInterceptor`) meters every route itself.
 *
 * The module makes it the last guard of each route at start-up, so the customer resolver sees what every other
 * guard (authentication included) attached.
 */
@Injectable()
export class MeteringGuard implements CanActivate {
  constructor(
    private readonly interceptor: MeteringInterceptor,
    @Inject(METERING_GLOBAL_INTERCEPTOR) private readonly globalInterceptor: boolean,
  ) {}

  canActivate(context: ExecutionContext): true | Promise<true> {
    if (this.globalInterceptor) return true;
    // A promise only when the customer resolver is async (or a subclass's `resolveCustomer()` is).
    const started = this.interceptor.meterFromGuard(context);
    return started === undefined ? true : started.then(() => true);
  }
}
