/** A Nest guard that answers customers whose subscription ended or failed: serve anyway, 402, or 403. */
import { type CustomerRef, MeteringConfigurationError, MeteringEngine } from '@meterkit/core';
import {
  type CanActivate,
  type ExecutionContext,
  HttpException,
  Inject,
  Injectable,
  type Type,
} from '@nestjs/common';
import { METERING_ADAPTER_OPTIONS } from './metering.constants.js';
import type { ResolvedMeteringOptions } from './metering-options.js';

/**
 * `serve`: run the route (the engine refuses the usage with `usage.rejected`, reason `unsubscribed` or
 * `not-subscribed`, and bills nothing); `402` / `403`: answer that status without running it.
 */
export type EndedSubscriptionPolicy = 'serve' | 402 | 403;

/**
 * Creates a guard class applying the app's policy to customers AWS said are `unsubscribed` (after
 * `unsubscribe-success`) or whose subscription failed. Reads the engine's in-memory state, kept current by the event
 * handler: no I/O. The customer comes from `MeteringModule`'s `customer` resolver.
 * @throws {MeteringConfigurationError} for an unknown policy.
 * @example
 * ```ts
 * @UseGuards(subscriptionPolicyGuard(402))
 * @Meter('api_calls')
 * @Get('forecast')
 * forecast() { ... }
 * ```
 */
export function subscriptionPolicyGuard(ended: EndedSubscriptionPolicy = 403): Type<CanActivate> {
  if (ended !== 'serve' && ended !== 402 && ended !== 403) {
    throw new MeteringConfigurationError(
      'ERR_METERING_INVALID_OPTION',
      'ended',
      `subscriptionPolicyGuard: the policy must be 'serve', 402 or 403, got ${String(ended)}`,
    );
  }

  @Injectable()
  class SubscriptionPolicyGuard implements CanActivate {
    constructor(
      @Inject(MeteringEngine) private readonly engine: MeteringEngine,
      @Inject(METERING_ADAPTER_OPTIONS) private readonly adapter: ResolvedMeteringOptions,
    ) {}

    canActivate(context: ExecutionContext): boolean | Promise<boolean> {
      if (ended === 'serve') return true;
      const customer = this.adapter.customer(context);
      // The customer resolver may be async (as for `@Meter()`): check once it has answered.
      if (customer != null && typeof (customer as PromiseLike<unknown>).then === 'function') {
        return Promise.resolve(customer as PromiseLike<CustomerRef | null | undefined>).then((resolved) =>
          this.check(resolved ?? undefined),
        );
      }
      return this.check((customer as CustomerRef | null | undefined) ?? undefined);
    }

    private check(customer: CustomerRef | undefined): true {
      const state = customer === undefined ? undefined : this.engine.subscriptionStateOf(customer);
      if (state === 'unsubscribed' || state === 'subscribe-failed') {
        throw new HttpException(
          { error: ended === 402 ? 'subscription required' : 'subscription ended', state },
          // Only reached for 402 or 403: canActivate() returned early for 'serve'.
          ended as 402 | 403,
        );
      }
      return true;
    }
  }
  return SubscriptionPolicyGuard;
}
