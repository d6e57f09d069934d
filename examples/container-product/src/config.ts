/** The container example's settings, read from environment variables only (listed in the README). */

export interface ContainerConfig {
  readonly port: number;
  readonly productCode: string;
  /** The dimension metered per hour (one MeterUsage record per hour). */
  readonly dimension: string;
  readonly publicKeyVersion: number;
  /** PEM of the AWS Marketplace public key of `publicKeyVersion`; undefined: not verified (a warning says so). */
  readonly verificationKeyPem: string | undefined;
  /** Start even when RegisterUsage fails (preview and testing only; logged as an error). */
  readonly failOpen: boolean;
  /** No AWS endpoint and no AWS credentials configured: register and meter against an in-process emulator. */
  readonly useEmulator: boolean;
}

/** Any of these set means AWS (or an endpoint of the operator's own) is configured; the app then uses it unchanged. */
export const AWS_SETTINGS = [
  'AWS_ENDPOINT_URL_MARKETPLACE_METERING',
  'AWS_ACCESS_KEY_ID',
  'AWS_PROFILE',
  'AWS_WEB_IDENTITY_TOKEN_FILE',
  'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
  'AWS_CONTAINER_CREDENTIALS_FULL_URI',
] as const;

/** @throws {Error} naming the variable when one is invalid. */
export function readConfig(env: NodeJS.ProcessEnv = process.env): ContainerConfig {
  const port = Number(env.PORT ?? 8080);
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new Error(`PORT must be a TCP port, got ${env.PORT}`);
  const publicKeyVersion = Number(env.METERKIT_PUBLIC_KEY_VERSION ?? 1);
  if (!Number.isInteger(publicKeyVersion) || publicKeyVersion < 1) {
    throw new Error(
      `METERKIT_PUBLIC_KEY_VERSION must be a positive integer, got ${env.METERKIT_PUBLIC_KEY_VERSION}`,
    );
  }
  return {
    port,
    productCode: env.METERKIT_PRODUCT_CODE ?? 'prod-meterkit-container',
    dimension: env.METERKIT_DIMENSION ?? 'jobs',
    publicKeyVersion,
    verificationKeyPem: env.METERKIT_VERIFICATION_KEY || undefined,
    failOpen: env.METERKIT_REGISTER_FAIL_OPEN === '1',
    useEmulator: AWS_SETTINGS.every((name) => (env[name] ?? '') === ''),
  };
}
