/** Builds or checks the SDK client a sink sends through (injected or from `clientConfig`), with SDK retries off. */
import {
  MarketplaceMeteringClient,
  type MarketplaceMeteringClientConfig,
} from '@aws-sdk/client-marketplace-metering';
import { MeteringConfigurationError, type MeteringLogger } from '@meterkit/core';

/** How a caller hands this package an SDK client: a ready one, or the configuration to build one. */
export interface MeteringClientOptions {
  /**
   * A ready SDK v3 client (e.g. one shared with the rest of your app). Its own retries are not turned off: set
   * `maxAttempts: 1` on it, because the meterkit dispatcher is the retry layer.
   */
  client?: MarketplaceMeteringClient;
  /**
   * Configuration of the client built when `client` is not given: region, credentials, `endpoint` (the emulator), and
   * anything else the SDK accepts. The standard SDK configuration applies on top (`AWS_REGION`, the credential chain,
   * `AWS_ENDPOINT_URL_MARKETPLACE_METERING`).
   */
  clientConfig?: MarketplaceMeteringClientConfig;
}

/** Whether `value` has the shape of an AWS SDK v3 client (v2 clients and plain objects do not). */
export function isV3Client(value: unknown): value is MarketplaceMeteringClient {
  const candidate = value as Partial<MarketplaceMeteringClient> | null;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.send === 'function' &&
    typeof candidate.config === 'object' &&
    candidate.config !== null &&
    typeof candidate.middlewareStack?.add === 'function'
  );
}

/**
 * The injected client, checked, or a new one from `clientConfig`. `owned` says whether this package built it (and so
 * destroys it on shutdown).
 * @throws {MeteringConfigurationError} when `client` is not an SDK v3 client, or both options are given.
 */
export function resolveClient(
  options: MeteringClientOptions,
  where: string,
  defaults: Partial<MarketplaceMeteringClientConfig> = {},
): { client: MarketplaceMeteringClient; owned: boolean } {
  if (options.client !== undefined) {
    if (options.clientConfig !== undefined) {
      throw new MeteringConfigurationError(
        'ERR_METERING_CONFLICTING_OPTIONS',
        `${where}.clientConfig`,
        `${where}: options \`client\` and \`clientConfig\` conflict: clientConfig only configures a client meterkit builds. Configure your client yourself, or pass clientConfig alone.`,
      );
    }
    if (!isV3Client(options.client)) {
      throw new MeteringConfigurationError(
        'ERR_METERING_INVALID_OPTION',
        `${where}.client`,
        `${where}: option \`client\` must be a MarketplaceMeteringClient from @aws-sdk/client-marketplace-metering (AWS SDK v3), with send(), config and middlewareStack.`,
      );
    }
    return { client: options.client, owned: false };
  }
  return { client: new MarketplaceMeteringClient({ ...options.clientConfig, ...defaults }), owned: true };
}

/**
 * Warns once when an injected client retries by itself. SDK retries are safe (an identical resend), but they stack
 * under the dispatcher's own retries and rate limit, can outlast `exportTimeoutMillis`, and spend the shared quota.
 */
export async function warnIfClientRetries(
  client: MarketplaceMeteringClient,
  logger: MeteringLogger,
): Promise<void> {
  try {
    const provider = (client.config as { maxAttempts?: unknown }).maxAttempts;
    const maxAttempts = typeof provider === 'function' ? await provider() : provider;
    if (typeof maxAttempts === 'number' && maxAttempts > 1) {
      logger.warn(
        'the injected MarketplaceMeteringClient retries by itself (maxAttempts > 1); create it with maxAttempts: 1 so the dispatcher is the only retry layer',
        { maxAttempts },
      );
    }
  } catch {
    // The provider may read the environment or shared config; a failure here must not break metering.
  }
}
