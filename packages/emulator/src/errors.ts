/**
 * Service errors the emulator answers with, and the HTTP status each one travels with.
 *
 * awsJson1_1 sends every error as `{"__type": "<Name>", "message": "..."}`. The model gives an explicit
 * status only to `IdempotencyConflictException` (409); `error: client` defaults to 400 and
 * `error: server` to 500. Names marked "unmodeled" are not in the service model: AWS uses them (auth,
 * DryRun) or the emulator assumes them (constraint violations); the README lists them as assumptions.
 */

/** Errors declared in the Marketplace Metering service model. */
export type ModeledErrorType =
  | 'CustomerNotEntitledException'
  | 'DisabledApiException'
  | 'DuplicateRequestException'
  | 'ExpiredTokenException'
  | 'IdempotencyConflictException'
  | 'InternalServiceErrorException'
  | 'InvalidCustomerIdentifierException'
  | 'InvalidEndpointRegionException'
  | 'InvalidLicenseException'
  | 'InvalidProductCodeException'
  | 'InvalidPublicKeyVersionException'
  | 'InvalidRegionException'
  | 'InvalidTagException'
  | 'InvalidTokenException'
  | 'InvalidUsageAllocationsException'
  | 'InvalidUsageDimensionException'
  | 'PlatformNotSupportedException'
  | 'ThrottlingException'
  | 'TimestampOutOfBoundsException';

/** Errors AWS (or the emulator, by assumption) answers with that the model does not declare. */
export type UnmodeledErrorType =
  | 'ValidationException'
  | 'SerializationException'
  | 'UnknownOperationException'
  | 'MissingAuthenticationTokenException'
  | 'IncompleteSignatureException'
  | 'InvalidSignatureException'
  | 'UnrecognizedClientException'
  | 'DryRunOperation';

/** Every `__type` the emulator can put on the wire. */
export type ServiceErrorType = ModeledErrorType | UnmodeledErrorType;

/** HTTP status for an error type, following the awsJson1_1 defaults and the model's `httpError` traits. */
export function httpStatusFor(type: ServiceErrorType): number {
  if (type === 'InternalServiceErrorException') return 500;
  if (type === 'IdempotencyConflictException') return 409;
  if (type === 'UnknownOperationException') return 400;
  return 400;
}

/**
 * An error answered to a metering client. Thrown inside request handling and turned into the wire
 * encoding by the protocol layer; never escapes to library users.
 */
export class ServiceError extends Error {
  /** The `__type` sent on the wire. */
  readonly type: ServiceErrorType;
  /** The HTTP status sent with it. */
  readonly statusCode: number;

  constructor(type: ServiceErrorType, message: string, statusCode: number = httpStatusFor(type)) {
    super(message);
    this.name = 'ServiceError';
    this.type = type;
    this.statusCode = statusCode;
  }
}

/**
 * Thrown by the library control API (and answered as HTTP 400 by the HTTP control API) when a
 * configuration or control request cannot be honoured, e.g. an unknown product in strict mode.
 */
export class EmulatorConfigurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EmulatorConfigurationError';
  }
}
