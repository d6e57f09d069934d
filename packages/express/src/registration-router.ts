/** The Express side of AWS Marketplace registration: a router answering the buyer's form POST. */
import { createRegistrationHandler, type RegistrationRouteOptions } from '@meterkit/aws-marketplace';
import { MeteringConfigurationError } from '@meterkit/core';
import type { NextFunction, Request, RequestHandler, Response } from 'express';

/** Options of {@link registrationRouter}. */
export interface RegistrationRouterOptions extends RegistrationRouteOptions<Request, Response> {
  /** The path of your registration URL (the "fulfillment URL" of the listing), relative to where the router is mounted. @default '/marketplace/register' */
  path?: string;
}

/** The router {@link registrationRouter} returns. */
export type RegistrationRouter = RequestHandler & {
  /** The path it answers. */
  readonly path: string;
  /** Releases the SDK client it built. */
  close(): void;
};

/**
 * Answers AWS Marketplace's registration POST at `path` (see `createRegistrationHandler` in
 * `@meterkit/aws-marketplace` for the whole flow): resolves the token, checks the product, stores the buyer in
 * `registry` and calls `onRegistered(customer, req, res)`. Every other method and path goes on to the next handler.
 * Needs no body parser (it reads the form itself, bounded by `maxBodyBytes`) and works with one (`express.urlencoded()`).
 *
 * @example
 * ```ts
 * app.use(registrationRouter({
 *   registry, productCodes: 'prod-abc',
 *   onRegistered: (customer, req, res) => res.redirect(303, `/signup?customer=${encodeURIComponent(customer.customer.awsAccountId ?? '')}`),
 * }));
 * ```
 * @throws {MeteringConfigurationError} for invalid options.
 */
export function registrationRouter(options: RegistrationRouterOptions): RegistrationRouter {
  const { path = '/marketplace/register', ...route } = options ?? ({} as RegistrationRouterOptions);
  if (typeof path !== 'string' || !path.startsWith('/')) {
    throw new MeteringConfigurationError(
      'ERR_METERING_INVALID_OPTION',
      'registrationRouter.path',
      `registrationRouter: option \`path\` is ${JSON.stringify(path)}, but it must be a path starting with "/".`,
    );
  }
  const handle = createRegistrationHandler<Request, Response>(route);
  const router = (req: Request, res: Response, next: NextFunction): void => {
    if (req.method !== 'POST' || req.path !== path) {
      next();
      return;
    }
    void handle(req, res);
  };
  return Object.assign(router, { path, close: () => handle.close() });
}
