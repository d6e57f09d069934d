/** The state of one metered request, from the guard or interceptor to its response's `finish`. */
import type { CustomerRef } from '@meterkit/core';
import type { FinishWatcher } from '@meterkit/core/http';
import type { ExecutionContext } from '@nestjs/common';
import type { MeteringHooks, RequestMeteringService, RouteMetering } from './request-metering.service.js';

/**
 * @internal Watches one metered response: as the tap observer of the handler (on routes that read its result) it
 * keeps what the handler returned and whether it threw; once Node has finished the response it hands itself to the
 * request service to be counted.
 */
export class ResponseMeter implements FinishWatcher {
  result: unknown = undefined;
  failed = false;
  constructor(
    readonly requests: RequestMeteringService,
    readonly hooks: MeteringHooks,
    readonly context: ExecutionContext,
    readonly route: RouteMetering,
    readonly customer: CustomerRef | undefined,
  ) {}
  next(value: unknown): void {
    this.result = value;
  }
  error(): void {
    this.failed = true;
  }
  finished(statusCode: number): void {
    this.requests.count(this, statusCode);
  }
  undelivered(): void {
    this.requests.policy.undelivered();
  }
}
