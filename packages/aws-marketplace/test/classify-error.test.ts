import {
  InternalServiceErrorException,
  MarketplaceMeteringServiceException,
  ThrottlingException,
  TimestampOutOfBoundsException,
} from '@aws-sdk/client-marketplace-metering';
import { describe, expect, it } from 'vitest';
import { classifyError } from '../src/classify-error.js';

/** An error shaped like the SDK's generic service exception for a name it has no class for. */
function serviceError(name: string, httpStatusCode: number, headers: Record<string, string> = {}) {
  return Object.assign(
    new MarketplaceMeteringServiceException({
      name,
      $fault: 'client',
      $metadata: { httpStatusCode },
      message: 'no',
    }),
    { $response: { statusCode: httpStatusCode, headers } },
  );
}

function networkError(code: string, message = 'boom') {
  return Object.assign(new Error(message), { code });
}

describe('classifyError', () => {
  it('treats ThrottlingException as retryable and throttled', () => {
    // Prepare
    const error = new ThrottlingException({ message: 'Rate exceeded', $metadata: { httpStatusCode: 400 } });
    // Act
    const response = classifyError(error);
    // Assess
    expect(response).toEqual({
      status: 'retryable',
      reason: 'throttled',
      code: 'ThrottlingException',
      message: 'Rate exceeded',
    });
  });

  it('passes a Retry-After header of a throttled call on as retryAfterMillis', () => {
    const response = classifyError(serviceError('ThrottlingException', 400, { 'retry-after': '2' }));
    expect(response).toMatchObject({ status: 'retryable', reason: 'throttled', retryAfterMillis: 2000 });
  });

  it('treats InternalServiceErrorException as a retryable server error', () => {
    const error = new InternalServiceErrorException({ message: 'oops', $metadata: { httpStatusCode: 500 } });
    expect(classifyError(error)).toMatchObject({ status: 'retryable', reason: 'server-error' });
  });

  it.each([500, 502, 503, 504])(
    'treats an unknown error with HTTP %i as a retryable server error',
    (status) => {
      expect(classifyError(serviceError('ServiceUnavailable', status))).toMatchObject({
        status: 'retryable',
        reason: 'server-error',
        code: 'ServiceUnavailable',
      });
    },
  );

  it.each([
    ['ECONNRESET', networkError('ECONNRESET', 'socket hang up')],
    ['ECONNREFUSED', networkError('ECONNREFUSED')],
    ['ETIMEDOUT', networkError('ETIMEDOUT')],
    [
      'TimeoutError',
      Object.assign(new Error('Connection timed out after 1000 ms'), { name: 'TimeoutError' }),
    ],
    ['AbortError', Object.assign(new Error('Request aborted'), { name: 'AbortError' })],
    ['Error', new Error('socket hang up')],
  ])('treats a transport failure (%s) as retryable network trouble', (code, error) => {
    expect(classifyError(error)).toMatchObject({ status: 'retryable', reason: 'network', code });
  });

  it('treats something thrown that is not an Error as retryable network trouble', () => {
    expect(classifyError('weird')).toMatchObject({
      status: 'retryable',
      reason: 'network',
      message: 'weird',
    });
  });

  it('treats TimestampOutOfBoundsException as a rejection for being too old', () => {
    const error = new TimestampOutOfBoundsException({
      message: 'too old',
      $metadata: { httpStatusCode: 400 },
    });
    expect(classifyError(error)).toEqual({
      status: 'rejected',
      code: 'TimestampOutOfBoundsException',
      message: 'too old',
      tooOld: true,
    });
  });

  it.each([
    'InvalidUsageDimensionException',
    'InvalidCustomerIdentifierException',
    'InvalidLicenseException',
    'InvalidTagException',
    'InvalidUsageAllocationsException',
    'ValidationException',
  ])('treats %s as a rejection the dispatcher can bisect', (name) => {
    const response = classifyError(serviceError(name, 400));
    expect(response).toMatchObject({ status: 'rejected', code: name });
    expect(response).not.toHaveProperty('tooOld');
  });

  it.each([
    'InvalidProductCodeException',
    'DisabledApiException',
    'InvalidSignatureException',
    'UnrecognizedClientException',
    'AccessDeniedException',
    'ExpiredTokenException',
    'InvalidClientTokenId',
    'MissingAuthenticationToken',
  ])('treats %s as a failure no record can fix', (name) => {
    expect(classifyError(serviceError(name, 400))).toMatchObject({ status: 'failed', code: name });
  });

  it('treats an unknown 4xx error as a failure', () => {
    expect(classifyError(serviceError('SomeNewException', 403))).toMatchObject({
      status: 'failed',
      code: 'SomeNewException',
    });
  });

  it('treats missing credentials, raised before anything is sent, as a failure', () => {
    const error = Object.assign(new Error('Could not load credentials from any providers'), {
      name: 'CredentialsProviderError',
    });
    expect(classifyError(error)).toMatchObject({ status: 'failed', code: 'CredentialsProviderError' });
  });

  it('treats an unreadable 2xx answer as retryable, since the call may have been applied', () => {
    expect(classifyError(serviceError('SyntaxError', 200))).toMatchObject({
      status: 'retryable',
      reason: 'server-error',
    });
  });
});
