export { classifyError, type FailedCallResponse } from './classify-error.js';
export { MarketplaceMeteringSink, type MarketplaceMeteringSinkOptions } from './marketplace-metering-sink.js';
export { isV3Client, type MeteringClientOptions } from './metering-client.js';
export {
  buyerMessages,
  type RegistrationErrorCode,
  RegistrationTokenError,
  ResolveCustomerError,
} from './registration-errors.js';
export {
  createRegistrationHandler,
  type RegistrationEvent,
  type RegistrationFailure,
  type RegistrationFailureReason,
  type RegistrationHandler,
  type RegistrationRouteOptions,
  registrationPage,
} from './registration-route.js';
export {
  assertRegistrationToken,
  OFFER_TYPE_FIELD,
  REGISTRATION_TOKEN_FIELD,
  type RegistrationRequest,
  readRegistrationToken,
} from './registration-token.js';
export { type ResolveCustomerOptions, resolveCustomer } from './resolve-customer.js';
export { type AwsSetup, type VerifyAwsSetupOptions, verifyAwsSetup } from './verify-aws-setup.js';
