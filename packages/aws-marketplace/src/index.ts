/** `@meterkit/aws-marketplace`: the Marketplace sinks, buyer onboarding, subscription events, container entitlement. */
export { classifyError, type FailedCallResponse } from './classify-error.js';
export { clientTokenOf } from './client-token.js';
export {
  ContainerRegistrationError,
  type ContainerRegistrationFailure,
} from './container-registration-error.js';
export { INSTANCE_CUSTOMER, instanceNonce } from './instance-identity.js';
export { InstanceMeteringError } from './instance-metering-error.js';
export {
  type MarketplaceAction,
  type MarketplaceEvent,
  type ParsedMarketplaceDocument,
  parseMarketplaceDocument,
  parseSnsMessage,
} from './marketplace-event.js';
export {
  answerMarketplaceEventRequest,
  assertEndpointOptions,
  type EndpointAnswer,
  MAX_EVENT_BODY_BYTES,
  type MarketplaceEventEndpointOptions,
} from './marketplace-event-endpoint.js';
export {
  createMarketplaceEventHandler,
  type HandleContext,
  type MarketplaceEventHandler,
  type MarketplaceEventHandlerOptions,
  type MarketplaceEventOutcome,
  STATE_AFTER,
  type SubscriptionListener,
} from './marketplace-event-handler.js';
export { MarketplaceMeteringSink, type MarketplaceMeteringSinkOptions } from './marketplace-metering-sink.js';
export {
  type InstanceMeteringHealth,
  type MeteringOutage,
  MeterUsageSink,
  type MeterUsageSinkOptions,
  MIN_FAIL_CLOSED_AFTER_MILLIS,
} from './meter-usage-sink.js';
export { isV3Client, type MeteringClientOptions } from './metering-client.js';
export {
  type ContainerRegistration,
  type RegisterContainerOptions,
  registerContainer,
} from './register-container.js';
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
  type RegistrationListener,
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
export {
  type CertificateSource,
  checkSigningCertUrl,
  httpsCertificateSource,
  type SnsEnvelope,
  type SnsVerification,
  snsStringToSign,
  verifySnsSignature,
} from './sns-signature.js';
export {
  type ExpectedUsageSignature,
  type UsageSignatureClaims,
  type UsageVerificationKey,
  verifyUsageSignature,
} from './usage-signature.js';
export { type AwsSetup, type VerifyAwsSetupOptions, verifyAwsSetup } from './verify-aws-setup.js';
