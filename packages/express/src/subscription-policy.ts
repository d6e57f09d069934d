/** What a route answers a customer whose subscription ended or failed: serve anyway, 402, or 403. */
import { MeteringConfigurationError, type MeteringEngine } from '@meterkit/core';
import type { RequestHandler } from 'express';
import type { CustomerResolver } from './options.js';

/**
 * `serve`: answer as usual (the usage is refused by the engine with `usage.rejected`, reason `unsubscribed` or
 * `not-subscribed`, and not billed); `402` / `403`: answer that status without running the route.
 */
export type EndedSubscriptionPolicy = 'serve' | 402 | 403;

export interface SubscriptionPolicyOptions {
  readonly engine: MeteringEngine;
  /** The same resolver as `createMetering({ customer })`. */
  readonly customer: CustomerResolver;
  /** @default 403 */
  readonly ended?: EndedSubscriptionPolicy;
}

/**
 * Middleware that applies the app's policy to customers AWS said are `unsubscribed` (after `unsubscribe-success`) or
 * whose subscription failed. The state is the engine's in-memory copy, kept current by the event handler: no I/O.
 * @throws {MeteringConfigurationError} for an unknown `ended` policy.
 * @example
 * ```ts
 * app.use('/v1', subscriptionPolicy({ engine: metering.engine, customer, ended: 402 }), metering.meter('api_calls'));
 * ```
 */
export function subscriptionPolicy(options: SubscriptionPolicyOptions): RequestHandler {
  const ended = options.ended ?? 403;
  if (ended !== 'serve' && ended !== 402 && ended !== 403) {
    throw new MeteringConfigurationError(
      'ERR_METERING_INVALID_OPTION',
      'ended',
      `subscriptionPolicy: ended must be 'serve', 402 or 403, got ${String(ended)}`,
    );
  }
  return (req, res, next) => {
    if (ended === 'serve') return next();
    const decide = (customer: Parameters<MeteringEngine['subscriptionStateOf']>[0] | undefined | null) => {
      const state = customer == null ? undefined : options.engine.subscriptionStateOf(customer);
      if (state === 'unsubscribed' || state === 'subscribe-failed') {
        res.status(ended).json({
          error: ended === 402 ? 'subscription required' : 'subscription ended',
          state,
        });
        return;
      }
      next();
    };
    const resolved = options.customer(req);
    if (resolved !== null && typeof resolved === 'object' && 'then' in resolved) {
      Promise.resolve(resolved).then(decide, next);
    } else decide(resolved as Parameters<typeof decide>[0]);
  };
}
