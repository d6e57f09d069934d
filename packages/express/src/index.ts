/**
 * `@meterkit/express`: AWS Marketplace usage metering for Express 4 and 5. `createMetering()` sets up the engine;
 * `meter('dimension')` counts each successfully served request for the request's customer.
 */
export { meteringAdmin } from './admin-handler.js';
export { closeServer, type ServerCloseReport } from './close-server.js';
export { createMetering, type ExpressMetering, type ShutdownOptions } from './create-metering.js';
export { type EngineHolder, meteringHealth } from './health-handler.js';
export { marketplaceEvents } from './marketplace-events.js';
export type { MeterInput, MeterSpec, QuantityOf, TagsOf } from './meter-spec.js';
export type { AdapterCounters } from './metering-context.js';
export {
  type CustomerResolver,
  type ExpressAdapterOptions,
  type ExpressMeteringOptions,
  isSuccessStatus,
  type MissingCustomerPolicy,
  type SuccessPredicate,
} from './options.js';
export {
  type RegistrationRouter,
  type RegistrationRouterOptions,
  registrationRouter,
} from './registration-router.js';
export { responseBytes, responseBytesIn } from './response-bytes.js';
export { installShutdownHooks, type ShutdownHookOptions, type ShutdownTarget } from './shutdown-hooks.js';
export {
  type EndedSubscriptionPolicy,
  type SubscriptionPolicyOptions,
  subscriptionPolicy,
} from './subscription-policy.js';
