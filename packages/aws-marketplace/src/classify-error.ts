/** Turns an SDK error from a metering call into the answer the dispatcher acts on (retry, split, or wait). */
import type { ExportResponse } from '@meterkit/core';

/** A call that did not produce per-record outcomes. */
export type FailedCallResponse = Exclude<ExportResponse, { status: 'done' }>;

/** The parts of an SDK v3 error this module reads. Network errors from Node have `code` instead of `$metadata`. */
interface ErrorLike {
  readonly name?: unknown;
  readonly message?: unknown;
  readonly code?: unknown;
  readonly $metadata?: { readonly httpStatusCode?: number };
  readonly $response?: { readonly headers?: Record<string, string | undefined> };
}

/** A record in the call refused the whole call: the dispatcher bisects to isolate it. */
const REJECTED = new Set([
  'InvalidUsageDimensionException',
  'InvalidCustomerIdentifierException',
  'InvalidLicenseException',
  'InvalidTagException',
  'InvalidUsageAllocationsException',
  'ValidationException',
  'SerializationException',
]);

/** Errors no record can fix (product, region, credentials, permissions, clock skew): retried later, loudly. */
const FAILED = new Set([
  'InvalidProductCodeException',
  'DisabledApiException',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
  'IncompleteSignature',
  'UnrecognizedClientException',
  'AccessDeniedException',
  'AccessDenied',
  'ExpiredTokenException',
  'InvalidClientTokenId',
  'MissingAuthenticationToken',
  'MissingAuthenticationTokenException',
  'NotAuthorized',
  'UnauthorizedOperation',
  'OptInRequired',
  'RequestExpired',
  'RequestInTheFuture',
  'RequestTimeTooSkewed',
  'InvalidEndpointRegionException',
  // Raised by the SDK before anything is sent: no credentials or no region configured.
  'CredentialsProviderError',
]);

/** Node and SDK transport failures: nothing is known to have reached the service, or the answer was lost. */
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
]);
const NETWORK_NAMES = new Set(['TimeoutError', 'AbortError', 'RequestTimeout', 'RequestTimeoutException']);

/**
 * Maps an error thrown by `client.send(BatchMeterUsageCommand)` to the dispatcher's vocabulary. Never throws.
 *
 * - throttling, 5xx and transport failures are `retryable` (the same records are resent later, identical);
 * - `TimestampOutOfBoundsException` and per-record validation errors are `rejected` (the dispatcher bisects);
 * - product, region, credential and permission errors, and any other 4xx, are `failed`.
 */
export function classifyError(error: unknown): FailedCallResponse {
  const e = (typeof error === 'object' && error !== null ? error : {}) as ErrorLike;
  const name = typeof e.name === 'string' && e.name !== '' ? e.name : 'Error';
  const message = typeof e.message === 'string' ? e.message : String(error);
  const code = typeof e.code === 'string' ? e.code : undefined;
  const status = e.$metadata?.httpStatusCode;

  if (name === 'ThrottlingException') {
    const retryAfterMillis = retryAfterOf(e);
    return {
      status: 'retryable',
      reason: 'throttled',
      code: name,
      message,
      ...(retryAfterMillis !== undefined && { retryAfterMillis }),
    };
  }
  if (name === 'InternalServiceErrorException' || (status !== undefined && status >= 500)) {
    return { status: 'retryable', reason: 'server-error', code: name, message };
  }
  if (name === 'TimestampOutOfBoundsException') {
    return { status: 'rejected', code: name, message, tooOld: true };
  }
  if (REJECTED.has(name)) return { status: 'rejected', code: name, message };
  if (FAILED.has(name) || /region is missing/i.test(message))
    return { status: 'failed', code: name, message };
  if (status === undefined) {
    // No HTTP answer: connection refused or reset, socket hang up, timeout, abort, or a lost response.
    const networkCode = code !== undefined && NETWORK_CODES.has(code) ? code : undefined;
    return {
      status: 'retryable',
      reason: 'network',
      code: networkCode ?? (NETWORK_NAMES.has(name) ? name : (code ?? name)),
      message,
    };
  }
  if (status >= 400) return { status: 'failed', code: name, message: `HTTP ${status}: ${message}` };
  // A 2xx/3xx the SDK could not read: the call may have been applied, so only an identical resend is safe.
  return { status: 'retryable', reason: 'server-error', code: name, message: `HTTP ${status}: ${message}` };
}

/** `Retry-After` in seconds (the only form AWS uses), when the service sent one. */
function retryAfterOf(error: ErrorLike): number | undefined {
  const value = error.$response?.headers?.['retry-after'];
  if (value === undefined) return undefined;
  const seconds = Number(value);
  return Number.isFinite(seconds) && seconds >= 0 ? Math.round(seconds * 1000) : undefined;
}
