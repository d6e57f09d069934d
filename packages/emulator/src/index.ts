/**
 * `@meterkit/emulator`: a local AWS Marketplace Metering Service speaking the real wire protocol
 * (awsJson1_1 + SigV4), built from the service model, with fault injection and inspection.
 */

export type { LicenseView, ProductView } from './catalog.js';
export type { ClockControl, EmulatorControl, IssueTokenInput } from './control.js';
export type { ClockRequest, FaultsRequest } from './control-api.js';
export { CONTROL_PREFIX } from './control-api.js';
export type { Emulator } from './emulator.js';
export { startEmulator } from './emulator.js';
export type { ModeledErrorType, ServiceErrorType, UnmodeledErrorType } from './errors.js';
export { EmulatorConfigurationError, ServiceError } from './errors.js';
export { EVENT_QUEUE_NAME } from './event-queue.js';
export type {
  FaultOptions,
  FaultSettings,
  FaultSnapshot,
  LatencySetting,
  QuotaSettings,
  ScheduledFault,
  ScheduledFaultKind,
} from './faults.js';
export { DEFAULT_QUOTA } from './faults.js';
export type {
  BilledRecord,
  BilledRecordFilter,
  BilledTotal,
  CallRecord,
  Ledger,
  Registration,
} from './ledger.js';
export {
  EMULATOR_SIGNING_CERT_URL,
  type NotificationAction,
  type NotificationOptions,
  type NotificationView,
} from './notifier.js';
export type {
  CustomerConfig,
  EmulatorCredentials,
  EmulatorOptions,
  IdenticalResendStatus,
  OperationName,
  ProductConfig,
  SubscriptionState,
  UsageWindow,
} from './options.js';
export { OPERATION_NAMES } from './options.js';
export { CONTENT_TYPE, MAX_BODY_BYTES, TARGET_PREFIX } from './protocol.js';
export { INSTANCE_ID_HEADER } from './server.js';
export type { SignableRequest } from './sigv4.js';
export { SIGNING_NAME, signRequest } from './sigv4.js';
export type { SubscriptionView } from './subscriptions.js';
export type { RegistrationTokenView } from './tokens.js';
export type { UsagePublicKey } from './usage-signer.js';
