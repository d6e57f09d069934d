// The public API of `@meterkit/nestjs`.
export type { HttpMeteringCounters } from '@meterkit/core/http';
export {
  CONTAINER_REGISTRATION,
  type ContainerRegistrationAsyncOptions,
  ContainerRegistrationModule,
} from './container-registration.module.js';
export {
  type MarketplaceEventsControllerOptions,
  marketplaceEventsController,
} from './marketplace-events.controller.js';

export { Meter } from './meter.decorator.js';
export {
  type MeterDefinition,
  MeterMetadata,
  type MeterOptions,
  type MeterOptionsOfPrevious,
  type MeterSpec,
  SkipMeter,
} from './meter.metadata.js';
export { METERING_ENGINE, METERING_JOBS } from './metering.constants.js';
export { MeteringExplorer } from './metering.explorer.js';
export { MeteringGuard } from './metering.guard.js';
export { MeteringInterceptor, type RouteMetering } from './metering.interceptor.js';
export { MeteringModule } from './metering.module.js';
export {
  ASYNC_OPTIONS_TYPE as METERING_ASYNC_OPTIONS_TYPE,
  METERING_MODULE_OPTIONS,
  type MeteringModuleExtras,
  OPTIONS_TYPE as METERING_OPTIONS_TYPE,
} from './metering.module-definition.js';
export { MeteringService, type MeteringStats } from './metering.service.js';
export { MeteringAdminModule, type MeteringAdminOptions } from './metering-admin.module.js';
export {
  /** @deprecated The engine's life in the app's is now run by `MeteringLifecycle`; this is the same class. */
  MeteringLifecycle as MeteringScheduler,
  MeteringLifecycle,
} from './metering-lifecycle.js';
export type {
  CustomerResolver,
  MeteringAdapterOptions,
  MeteringJobSchedule,
  MeteringModuleOptions,
  MeteringScheduleOptions,
  MissingCustomerPolicy,
} from './metering-options.js';
export { nestMeteringLogger } from './nest-metering-logger.js';
export {
  REGISTRATION_HANDLER,
  RegistrationModule,
  type RegistrationModuleOptions,
} from './registration.module.js';
export { responseBodyBytes, responseBytesIn } from './response-body-bytes.js';
export { type EndedSubscriptionPolicy, subscriptionPolicyGuard } from './subscription-policy.guard.js';
