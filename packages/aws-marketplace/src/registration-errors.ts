/** Stable codes of the errors thrown while onboarding a buyer. */
export type RegistrationErrorCode =
  | 'ERR_METERING_REGISTRATION_TOKEN_MISSING'
  | 'ERR_METERING_REGISTRATION_TOKEN_MALFORMED'
  | 'ERR_METERING_REGISTRATION_TOKEN_EXPIRED'
  | 'ERR_METERING_REGISTRATION_TOKEN_INVALID'
  | 'ERR_METERING_RESOLVE_CUSTOMER_FAILED';

const FRESH_TOKEN_ADVICE =
  'Please go back to your AWS Marketplace subscription and choose "Set up your account" again to get a fresh registration link.';

/** What to show the buyer for each token problem: they can fix it themselves with a fresh token. */
export const buyerMessages = {
  missing: `We did not receive an AWS Marketplace registration token. ${FRESH_TOKEN_ADVICE}`,
  malformed: `The AWS Marketplace registration token we received is damaged. ${FRESH_TOKEN_ADVICE}`,
  expired: `Your AWS Marketplace registration link has expired. ${FRESH_TOKEN_ADVICE}`,
  invalid: `Your AWS Marketplace registration link is not valid. ${FRESH_TOKEN_ADVICE}`,
  unavailable:
    'We could not confirm your AWS Marketplace subscription right now. Please try again in a few minutes.',
} as const;

/**
 * The buyer's registration token cannot be used: missing from the request, malformed, expired or unknown to AWS.
 * Answer HTTP 400 and show {@link RegistrationTokenError.buyerMessage}: the buyer gets a fresh token by choosing
 * "Set up your account" on their AWS Marketplace subscription.
 */
export class RegistrationTokenError extends Error {
  override readonly name = 'RegistrationTokenError';
  readonly code: Exclude<RegistrationErrorCode, 'ERR_METERING_RESOLVE_CUSTOMER_FAILED'>;
  /** Why the token was refused. */
  readonly reason: 'missing' | 'malformed' | 'expired' | 'invalid';
  /** Text to show the buyer (no internal details). */
  readonly buyerMessage: string;
  /** HTTP status for the registration response. */
  readonly httpStatus = 400;

  constructor(reason: RegistrationTokenError['reason'], message: string, options?: ErrorOptions) {
    super(message, options);
    this.reason = reason;
    this.code = `ERR_METERING_REGISTRATION_TOKEN_${reason.toUpperCase() as Uppercase<typeof reason>}`;
    this.buyerMessage = buyerMessages[reason];
  }
}

/**
 * ResolveCustomer failed for a reason that is not the buyer's token: throttling, a service or network error, missing
 * credentials or permissions (`aws-marketplace:ResolveCustomer`, called from the seller account that owns the
 * product), or an answer without a usable customer identity.
 */
export class ResolveCustomerError extends Error {
  override readonly name = 'ResolveCustomerError';
  readonly code = 'ERR_METERING_RESOLVE_CUSTOMER_FAILED' as const;
  /** True when the same token may work later (throttling, 5xx, network): answer 503 and let the buyer retry. */
  readonly retryable: boolean;
  /** The AWS error name, when AWS answered. */
  readonly awsErrorName: string | undefined;
  readonly buyerMessage = buyerMessages.unavailable;
  /** 503 when retryable, else 502 (the seller's side must fix something). */
  readonly httpStatus: 502 | 503;

  constructor(message: string, retryable: boolean, awsErrorName: string | undefined, options?: ErrorOptions) {
    super(message, options);
    this.retryable = retryable;
    this.awsErrorName = awsErrorName;
    this.httpStatus = retryable ? 503 : 502;
  }
}
