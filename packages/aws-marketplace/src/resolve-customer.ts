/** ResolveCustomer: turns a registration token into the buyer's Marketplace identity. */
import {
  ResolveCustomerCommand,
  type ResolveCustomerCommandOutput,
} from '@aws-sdk/client-marketplace-metering';
import { type CustomerRef } from '@meterkit/core';
import { checkRule } from '@meterkit/core/sink';
import { classifyError } from './classify-error.js';
import { type MeteringClientOptions, resolveClient } from './metering-client.js';
import { RegistrationTokenError, ResolveCustomerError } from './registration-errors.js';
import { assertRegistrationToken } from './registration-token.js';

/** Options of {@link resolveCustomer}. */
export interface ResolveCustomerOptions extends MeteringClientOptions {
  /** Aborts the call (e.g. when the buyer's request is closed). */
  signal?: AbortSignal;
}

/**
 * Exchanges the registration token AWS Marketplace POSTed to your registration URL for the buyer's identity: under
 * Concurrent Agreements `{ awsAccountId, licenseArn, productCode }`, for legacy products
 * `{ customerIdentifier, productCode }`. Store it with the account you create and return it from your customer
 * resolver. Call it at once (tokens expire) from the seller account that owns the product; needs the
 * `aws-marketplace:ResolveCustomer` permission. A client built here keeps the SDK's default retries (ResolveCustomer
 * changes nothing, so a retry is harmless).
 *
 * @example
 * ```ts
 * const { token } = readRegistrationToken(req.body);
 * const customer = await resolveCustomer(token, { clientConfig: { region: 'us-east-1' } });
 * ```
 * @throws {RegistrationTokenError} the token is missing, malformed, expired or invalid: answer 400 with its
 * `buyerMessage` (the buyer gets a fresh token through "Set up your account").
 * @throws {ResolveCustomerError} anything else; `retryable` tells throttling and outages from configuration problems.
 * @throws {MeteringConfigurationError} for a `client` that is not an SDK v3 client.
 */
export async function resolveCustomer(
  token: string,
  options: ResolveCustomerOptions = {},
): Promise<CustomerRef> {
  assertRegistrationToken(token);
  const { client, owned } = resolveClient(options, 'resolveCustomer');
  let output: ResolveCustomerCommandOutput;
  try {
    output = await client.send(new ResolveCustomerCommand({ RegistrationToken: token }), {
      abortSignal: options.signal,
    });
  } catch (error) {
    throw toRegistrationError(error);
  } finally {
    if (owned) client.destroy();
  }
  return customerFrom(output);
}

function toRegistrationError(error: unknown): Error {
  const name = (error as { name?: unknown } | null)?.name;
  const message = (error as { message?: unknown } | null)?.message;
  const text = typeof message === 'string' ? message : String(error);
  // Expired *credentials* share the name; only the registration token is the buyer's problem.
  if (name === 'ExpiredTokenException' && !/security token|credential/i.test(text)) {
    return new RegistrationTokenError(
      'expired',
      `ResolveCustomer: the registration token expired (${text})`,
      {
        cause: error,
      },
    );
  }
  if (name === 'InvalidTokenException') {
    return new RegistrationTokenError(
      'invalid',
      `ResolveCustomer: the registration token is invalid (${text})`,
      {
        cause: error,
      },
    );
  }
  const classified = classifyError(error);
  return new ResolveCustomerError(
    `ResolveCustomer failed: ${classified.code}: ${classified.message}`,
    classified.status === 'retryable',
    typeof name === 'string' ? name : undefined,
    { cause: error },
  );
}

/** The identity in a ResolveCustomer answer, checked against the service's rules. */
function customerFrom(output: ResolveCustomerCommandOutput): CustomerRef {
  const productCode = output.ProductCode || undefined;
  if (productCode !== undefined) requireValid('productCode', 'ProductCode', productCode);
  if (output.LicenseArn && output.CustomerAWSAccountId) {
    requireValid('awsAccountId', 'CustomerAWSAccountId', output.CustomerAWSAccountId);
    requireValid('licenseArn', 'LicenseArn', output.LicenseArn);
    return {
      awsAccountId: output.CustomerAWSAccountId,
      licenseArn: output.LicenseArn,
      ...(productCode !== undefined && { productCode }),
    };
  }
  if (output.CustomerIdentifier) {
    requireValid('customerIdentifier', 'CustomerIdentifier', output.CustomerIdentifier);
    return {
      customerIdentifier: output.CustomerIdentifier,
      ...(productCode !== undefined && { productCode }),
    };
  }
  throw new ResolveCustomerError(
    'ResolveCustomer answered neither CustomerAWSAccountId + LicenseArn nor CustomerIdentifier; nothing to bill',
    false,
    undefined,
  );
}

function requireValid(rule: Parameters<typeof checkRule>[0], field: string, value: string): void {
  const broken = checkRule(rule, value);
  if (broken !== undefined) {
    throw new ResolveCustomerError(
      `ResolveCustomer answered a ${field} that is not ${broken}`,
      false,
      undefined,
    );
  }
}
