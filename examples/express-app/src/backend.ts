/** Where the example's usage is kept and sent: the configured store, and AWS or a local emulator. */
import type { MarketplaceMeteringClientConfig } from '@aws-sdk/client-marketplace-metering';
import { MarketplaceMeteringSink } from '@meterkit/aws-marketplace';
import type { UsageSink } from '@meterkit/core';
import { type Emulator, startEmulator } from '@meterkit/emulator';
import type { AdapterStoreOption } from '@meterkit/sqlite';
import type { ExampleConfig } from './config.js';
import type { Customer } from './customers.js';

/** Where counts live and where they are sent. */
export interface MeteringBackend {
  /** Undefined: `createMetering()` builds the AWS sink from the SDK's standard configuration. */
  readonly sink: UsageSink | undefined;
  /** Undefined: the adapter's default, a SQLite file (`METERKIT_STORE_PATH`, else `.meterkit/usage.sqlite`). */
  readonly store: AdapterStoreOption | undefined;
  /** The in-process emulator, when no AWS configuration was found. */
  readonly emulator: Emulator | undefined;
  /** The emulator's client settings (ResolveCustomer goes there too); undefined for AWS. */
  readonly clientConfig: MarketplaceMeteringClientConfig | undefined;
}

/**
 * Opens the configured store, and with no AWS configuration starts a local Marketplace Metering emulator (knowing the
 * demo product and customers) and points a sink at it with fake credentials. With AWS settings, nothing is changed.
 */
export async function openBackend(
  config: ExampleConfig,
  customers: ReadonlyMap<string, Customer>,
  dimensions: readonly string[],
  log: (line: string) => void,
): Promise<MeteringBackend> {
  const store = await openStore(config);
  if (!config.useEmulator) return { sink: undefined, store, emulator: undefined, clientConfig: undefined };
  const records = [...customers.values()].map((c) => c.record);
  const emulator = await startEmulator({
    port: 0,
    products: [{ productCode: config.productCode, dimensions }],
    customers: records.map((r) => ({
      productCode: r.productCode,
      ...(r.licenseArn !== undefined
        ? { licenseArn: r.licenseArn, customerAWSAccountId: r.awsAccountId }
        : { customerIdentifier: r.customerIdentifier }),
    })),
  });
  log(
    `no AWS endpoint or credentials configured: metering goes to an in-process Marketplace Metering emulator at ${emulator.endpoint} (fake credentials, nothing is billed); set AWS_* variables to use AWS`,
  );
  const clientConfig: MarketplaceMeteringClientConfig = {
    endpoint: emulator.endpoint,
    region: config.region,
    credentials: { accessKeyId: 'AKIDMETERKITEXAMPLE', secretAccessKey: 'meterkit-example-not-a-secret' },
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
      const { RedisStore } = await importStore<typeof import('@meterkit/redis')>('@meterkit/redis');
      return new RedisStore(config.redisUrl === undefined ? {} : { url: config.redisUrl });
    }
  }
}

/** Loaded only when chosen, so the default setup needs no Redis client. */
async function importStore<T>(name: string): Promise<T> {
  try {
    return (await import(name)) as T;
  } catch (error) {
    throw new Error(
      `METERKIT_STORE=${name.split('/')[1]} needs the package ${name}, which could not be loaded: ${String(error)}. ` +
        'Build the workspace (npm run build) or install the package.',
      { cause: error },
    );
  }
}
