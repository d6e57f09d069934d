/** The example's settings, all from environment variables (see the README). */
export interface ExampleConfig {
  readonly port: number;
  /** `sqlite` (the adapters' default: a file that keeps usage across restarts), `memory` or `redis`. */
  readonly store: 'memory' | 'sqlite' | 'redis';
  readonly redisUrl: string | undefined;
  readonly productCode: string;
  readonly region: string;
  /** True when no AWS endpoint or credentials are configured: metering goes to an in-process emulator. */
  readonly useEmulator: boolean;
}

/** Any of these means the operator configured AWS (or an endpoint of their own); the app then talks to it unchanged. */
const AWS_SETTINGS = [
  'AWS_ENDPOINT_URL_MARKETPLACE_METERING',
  'AWS_ACCESS_KEY_ID',
  'AWS_PROFILE',
  'AWS_WEB_IDENTITY_TOKEN_FILE',
  'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
  'AWS_CONTAINER_CREDENTIALS_FULL_URI',
] as const;

export function readConfig(env: NodeJS.ProcessEnv = process.env): ExampleConfig {
  const port = Number(env.PORT ?? 3000);
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new Error(`PORT must be a TCP port, got ${env.PORT}`);
  const store = env.METERKIT_STORE ?? 'sqlite';
  if (store !== 'memory' && store !== 'sqlite' && store !== 'redis') {
    throw new Error(`METERKIT_STORE must be memory, sqlite or redis, got ${store}`);
  }
  return {
    port,
    store,
    redisUrl: env.REDIS_URL,
    productCode: env.METERKIT_PRODUCT_CODE ?? 'prod-meterkit-demo',
    region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
    useEmulator: AWS_SETTINGS.every((name) => (env[name] ?? '') === ''),
  };
}
