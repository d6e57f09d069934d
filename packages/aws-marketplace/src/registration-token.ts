/** Reads and checks the registration token AWS posts when a buyer lands on the product's registration page. */
import { RegistrationTokenError } from './registration-errors.js';

/** Form field of AWS Marketplace's registration POST that carries the token. */
export const REGISTRATION_TOKEN_FIELD = 'x-amzn-marketplace-token';
/** Form field naming the offer type; `free-trial` for free trials. */
export const OFFER_TYPE_FIELD = 'x-amzn-marketplace-offer-type';

/** Longest token accepted before calling AWS; real tokens are far shorter. */
const MAX_TOKEN_LENGTH = 8_192;
/** Visible ASCII only: a space means a `+` was decoded on the way (a token passed through a query string unencoded). */
const TOKEN_PATTERN = /^[\x21-\x7e]+$/;

/** What the registration POST carried. */
export interface RegistrationRequest {
  readonly token: string;
  /** The raw offer type, when AWS sent one (`free-trial`). */
  readonly offerType: string | undefined;
  readonly isFreeTrial: boolean;
}

/**
 * Checks a registration token's shape before it is sent to AWS.
 * @throws {RegistrationTokenError} `missing` or `malformed`.
 */
export function assertRegistrationToken(token: unknown): asserts token is string {
  if (token === undefined || token === null || token === '') {
    throw new RegistrationTokenError(
      'missing',
      `no registration token (form field ${REGISTRATION_TOKEN_FIELD})`,
    );
  }
  if (typeof token !== 'string') {
    throw new RegistrationTokenError(
      'malformed',
      `the registration token must be one string, got ${typeof token}`,
    );
  }
  if (token.length > MAX_TOKEN_LENGTH || !TOKEN_PATTERN.test(token)) {
    throw new RegistrationTokenError(
      'malformed',
      `the registration token (${token.length} characters) is longer than ${MAX_TOKEN_LENGTH} or has whitespace or non-ASCII characters; pass the form field through unchanged`,
    );
  }
}

/**
 * Reads the token AWS Marketplace POSTs to your registration URL (`application/x-www-form-urlencoded`, field
 * `x-amzn-marketplace-token`, plus `x-amzn-marketplace-offer-type=free-trial` for trials). Takes the parsed body
 * (`express.urlencoded()`, Nest `@Body()`), a `URLSearchParams`, or the raw body string.
 *
 * @example
 * ```ts
 * app.post('/register', express.urlencoded({ extended: false }), async (req, res) => {
 *   const { token } = readRegistrationToken(req.body);
 *   const customer = await resolveCustomer(token);
 *   // store `customer` with the account being created, then continue sign-up
 * });
 * ```
 * @throws {RegistrationTokenError} `missing` or `malformed`.
 */
export function readRegistrationToken(
  body: Readonly<Record<string, unknown>> | URLSearchParams | string | undefined | null,
): RegistrationRequest {
  let token: unknown;
  let offerType: unknown;
  if (typeof body === 'string' || body instanceof URLSearchParams) {
    const form = typeof body === 'string' ? new URLSearchParams(body) : body;
    const tokens = form.getAll(REGISTRATION_TOKEN_FIELD);
    token = tokens.length > 1 ? tokens : tokens[0];
    offerType = form.get(OFFER_TYPE_FIELD) ?? undefined;
  } else if (body !== undefined && body !== null && typeof body === 'object') {
    token = body[REGISTRATION_TOKEN_FIELD];
    offerType = body[OFFER_TYPE_FIELD];
  }
  assertRegistrationToken(token);
  const offer = typeof offerType === 'string' && offerType !== '' ? offerType : undefined;
  return { token, offerType: offer, isFreeTrial: offer === 'free-trial' };
}
