/** Where the example's usage is sent: AWS, or the in-process emulator when nothing is configured. */
import type { MarketplaceMeteringClientConfig } from '@aws-sdk/client-marketplace-metering';
import { MarketplaceMeteringSink } from '@meterkit/aws-marketplace';
import type { UsageSink } from '@meterkit/core';
import { type Emulator, startEmulator } from '@meterkit/emulator';
import type { AdapterStoreOption } from '@meterkit/sqlite';
import type { ExampleConfig } from './config.js';

export const DIMENSIONS = ['api_calls', 'reports', 'export_kb'] as const;

/** Where usage goes: AWS (the SDK's own configuration), or the in-process emulator when nothing is configured. */
export interface MeteringBackend {
  /** Undefined: let `MeteringModule` build the AWS sink from the environment. */
  readonly sink: UsageSink | undefined;
  /** Undefined: the module's default, a SQLite file (`METERKIT_STORE_PATH`, else `.meterkit/usage.sqlite`). */
  readonly store: AdapterStoreOption | undefined;
  readonly emulator: Emulator | undefined;
  /** The emulator's client settings (ResolveCustomer goes there too); undefined for AWS. */
  readonly clientConfig: MarketplaceMeteringClientConfig | undefined;
}

export async function startMeteringBackend(
  config: ExampleConfig,
  log: (line: string) => void,
): Promise<MeteringBackend> {
  const store = await openStore(config);
  if (!config.useEmulator) return { sink: undefined, store, emulator: undefined, clientConfig: undefined };
  const emulator = await startEmulator({
    port: 0,
    products: [{ productCode: config.productCode, dimensions: DIMENSIONS }],
  });
  log(
    `no AWS endpoint or credentials configured: metering goes to an in-process Marketplace Metering emulator at ${emulator.endpoint} (fake credentials); set AWS_* variables to talk to AWS`,
  );
  const clientConfig: MarketplaceMeteringClientConfig = {
    endpoint: emulator.endpoint,
    region: config.region,
    credentials: { accessKeyId: 'AKIDMETERKITDEMO', secretAccessKey: 'meterkit-demo-secret' },
    maxAttempts: 1,
  };
  const sink = new MarketplaceMeteringSink({ clientConfig });
  return { sink, store, emulator, clientConfig };
}

async function openStore(config: ExampleConfig): Promise<AdapterStoreOption | undefined> {
  switch (config.store) {
    case 'memory':
      return 'memory';
    case 'sqlite':
      return undefined;
    case 'redis': {
      const { RedisStore } = await importStorePackage<typeof import('@meterkit/redis')>('@meterkit/redis');
      return new RedisStore({ url: config.redisUrl });
    }
  }
}

async function importStorePackage<T>(name: string): Promise<T> {
  try {
    return (await import(name)) as T;
  } catch (error) {
    throw new Error(
      `METERKIT_STORE needs ${name}, which could not be loaded (${String(error)}). Build the workspace (npm run build) or install ${name}.`,
      { cause: error },
    );
  }
}
