// The start-up check of the client's region and credentials, through the SDK's own resolution chain.
import { BatchMeterUsageCommand, MarketplaceMeteringClient } from '@aws-sdk/client-marketplace-metering';
import { MeteringConfigurationError } from '@meterkit/core';
import { startEmulator } from '@meterkit/emulator';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { verifyAwsSetup } from '../src/verify-aws-setup.js';

const credentials = { accessKeyId: 'AKIDEXAMPLEKEY0042', secretAccessKey: 'not-a-secret' };

// Nothing from the machine's own AWS set-up may leak in: no shared files, no instance metadata, no env credentials.
beforeEach(() => {
  for (const name of [
    'AWS_REGION',
    'AWS_DEFAULT_REGION',
    'AWS_PROFILE',
    'AWS_ACCESS_KEY_ID',
    'AWS_SECRET_ACCESS_KEY',
    'AWS_SESSION_TOKEN',
    'AWS_WEB_IDENTITY_TOKEN_FILE',
    'AWS_ROLE_ARN',
    'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
    'AWS_CONTAINER_CREDENTIALS_FULL_URI',
  ]) {
    vi.stubEnv(name, undefined);
  }
  vi.stubEnv('AWS_CONFIG_FILE', '/nonexistent/meterkit-test/config');
  vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', '/nonexistent/meterkit-test/credentials');
  vi.stubEnv('AWS_EC2_METADATA_DISABLED', 'true');
});
afterEach(() => vi.unstubAllEnvs());

async function failureOf(work: Promise<unknown>): Promise<MeteringConfigurationError> {
  const error = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(MeteringConfigurationError);
  return error as MeteringConfigurationError;
}

describe('verifyAwsSetup', () => {
  it('reports the region and the access key suffix of a client the emulator accepts calls from', async () => {
    const emulator = await startEmulator({ port: 0 });
    try {
      const client = new MarketplaceMeteringClient({
        region: 'us-east-1',
        credentials,
        endpoint: emulator.endpoint,
      });
      const setup = await verifyAwsSetup(client);
      expect(setup).toEqual({ region: 'us-east-1', accessKeyIdSuffix: '0042', expiresAt: undefined });
      // The same client does reach the service: the check resolved what a send resolves.
      const sent = await client.send(
        new BatchMeterUsageCommand({ ProductCode: 'prod-check', UsageRecords: [] }),
      );
      expect(sent.UnprocessedRecords ?? []).toEqual([]);
      client.destroy();
    } finally {
      await emulator.close();
    }
  });

  it('names the region when none is configured', async () => {
    const client = new MarketplaceMeteringClient({ credentials });
    const error = await failureOf(verifyAwsSetup(client));
    expect(error.field).toBe('region');
    expect(error.message).toContain('AWS_REGION');
  });

  it('names the credentials when the default chain finds none', async () => {
    const client = new MarketplaceMeteringClient({ region: 'us-east-1' });
    const error = await failureOf(verifyAwsSetup(client, { timeoutMillis: 5_000 }));
    expect(error.field).toBe('credentials');
    expect(error.message).not.toContain('not-a-secret');
  });

  it('names the credentials when the provider does not answer in time', async () => {
    const client = new MarketplaceMeteringClient({
      region: 'us-east-1',
      credentials: () => new Promise(() => undefined),
    });
    const error = await failureOf(verifyAwsSetup(client, { timeoutMillis: 20 }));
    expect(error.field).toBe('credentials');
    expect(error.message).toContain('within 20 ms');
  });
});
