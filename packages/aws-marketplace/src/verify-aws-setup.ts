// The start-up check that the SDK client has a region and credentials, so a missing one fails at start, not at the
// first send after the hour closes.
import type { MarketplaceMeteringClient } from '@aws-sdk/client-marketplace-metering';
import { MeteringConfigurationError } from '@meterkit/core';

/** Options of {@link verifyAwsSetup}. */
export interface VerifyAwsSetupOptions {
  /** Bound on resolving the region and credentials (an instance or container credential endpoint may be slow). */
  timeoutMillis?: number;
}

/** What {@link verifyAwsSetup} found. Never includes the credentials themselves. */
export interface AwsSetup {
  readonly region: string;
  /** The last 4 characters of the access key id, to tell which identity is in use without logging it. */
  readonly accessKeyIdSuffix: string;
  /** When the credentials expire (role credentials: ECS task roles, EKS IRSA, assumed roles); the SDK renews them. */
  readonly expiresAt: Date | undefined;
}

const DOCS = 'See docs/production.md#credentials-and-region.';

function withTimeout<T>(work: Promise<T>, millis: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not resolve within ${millis} ms`)), millis);
    timer.unref();
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Resolves the client's region and credentials through the SDK's own chain (environment, shared config, web identity
 * token for EKS IRSA, ECS container credentials, instance metadata), as the first send would. Sends no request.
 * @throws {MeteringConfigurationError} naming `region` or `credentials`, with the SDK's reason.
 */
export async function verifyAwsSetup(
  client: MarketplaceMeteringClient,
  options: VerifyAwsSetupOptions = {},
): Promise<AwsSetup> {
  const timeoutMillis = options.timeoutMillis ?? 10_000;
  let region: string;
  try {
    region = await withTimeout(client.config.region(), timeoutMillis, 'the region');
  } catch (error) {
    throw new MeteringConfigurationError(
      'ERR_METERING_INVALID_OPTION',
      'region',
      `The AWS Marketplace Metering client has no region (${error instanceof Error ? error.message : String(error)}). ` +
        `Set AWS_REGION (us-east-1 for Marketplace metering) or clientConfig.region. ${DOCS}`,
      { cause: error },
    );
  }
  try {
    const credentials = await withTimeout(client.config.credentials(), timeoutMillis, 'the credentials');
    return {
      region,
      accessKeyIdSuffix: credentials.accessKeyId.slice(-4),
      expiresAt: credentials.expiration,
    };
  } catch (error) {
    throw new MeteringConfigurationError(
      'ERR_METERING_INVALID_OPTION',
      'credentials',
      `The AWS Marketplace Metering client found no credentials (${error instanceof Error ? error.message : String(error)}). ` +
        `Give the task or pod a role allowed aws-marketplace:BatchMeterUsage (ECS task role, EKS IRSA or Pod Identity), ` +
        `or set clientConfig.credentials. ${DOCS}`,
      { cause: error },
    );
  }
}
