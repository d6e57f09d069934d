/** Stable codes; each is documented in the core README under "Error codes". */
export type MeteringErrorCode =
  | 'ERR_METERING_INVALID_OPTION'
  | 'ERR_METERING_UNKNOWN_OPTION'
  | 'ERR_METERING_CONFLICTING_OPTIONS'
  | 'ERR_METERING_INVALID_DIMENSION'
  | 'ERR_METERING_UNDECLARED_DIMENSION'
  | 'ERR_METERING_SHUT_DOWN'
  | 'ERR_METERING_STORE'
  | 'ERR_METERING_REGISTRY_CONFLICT'
  | 'ERR_METERING_REGISTRY_UNKNOWN_CUSTOMER'
  | 'ERR_METERING_REGISTRY_UNAVAILABLE';

/** Base class of every error meterkit throws. `code` is stable across releases; match on it, not on the message. */
export class MeteringError extends Error {
  override readonly name: string = 'MeteringError';
  readonly code: MeteringErrorCode;
  constructor(code: MeteringErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/** Thrown at set-up (options, dimensions, decorators): before the app serves a request. */
export class MeteringConfigurationError extends MeteringError {
  override readonly name = 'MeteringConfigurationError';
  /** The option or field at fault, e.g. `sealDelayMillis` or `@Meter() on BillingController.export`. */
  readonly field: string;
  constructor(code: MeteringErrorCode, field: string, message: string, options?: ErrorOptions) {
    super(code, message, options);
    this.field = field;
  }
}

/** A usage store that failed an operation; the engine keeps the data it was handed and retries. */
export class MeteringStoreError extends MeteringError {
  override readonly name = 'MeteringStoreError';
}

/**
 * Type guard that works across duplicated copies of the package (ESM and CJS loaded side by side), where
 * `instanceof` fails.
 */
export function isMeteringError(value: unknown): value is MeteringError {
  return (
    value instanceof Error &&
    typeof (value as unknown as { code?: unknown }).code === 'string' &&
    /^ERR_METERING_/.test((value as unknown as { code: string }).code)
  );
}
