import { generateKeyPairSync } from 'node:crypto';
import { ContainerRegistrationError, registerContainer } from '@meterkit/aws-marketplace';
import { silentLogger } from '@meterkit/core';
import { type Emulator, startEmulator } from '@meterkit/emulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const CREDENTIALS = { accessKeyId: 'AKIDCONTAINERTEST', secretAccessKey: 'container-test-secret' };
let emulator: Emulator;
let nonces = 0;

beforeAll(async () => {
  emulator = await startEmulator({
    port: 0,
    publicKeyVersion: 2,
    products: [
      { productCode: 'prod-container', dimensions: ['vcpu_hours'] },
      { productCode: 'prod-unpaid', dimensions: ['vcpu_hours'], entitled: false },
    ],
    faults: { quota: false },
  });
});
afterAll(() => emulator.close());

/** Options for one registration; each gets its own nonce, as each task or pod would. */
function options(overrides: Partial<Parameters<typeof registerContainer>[0]> = {}) {
  nonces += 1;
  return {
    productCode: 'prod-container',
    publicKeyVersion: 2,
    verificationKey: emulator.publicKey.pem,
    nonce: `task-${nonces}`,
    clientConfig: { endpoint: emulator.endpoint, region: 'us-east-1', credentials: CREDENTIALS },
    logger: silentLogger,
    sleep: async () => undefined,
    ...overrides,
  };
}

async function failureOf(promise: Promise<unknown>): Promise<ContainerRegistrationError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ContainerRegistrationError);
  return error as ContainerRegistrationError;
}

describe('registerContainer', () => {
  it('registers with the emulator and verifies the signed answer against the key version', async () => {
    const result = await registerContainer(options({ nonce: 'task-verified' }));
    expect(result).toMatchObject({ status: 'registered', verified: true, publicKeyVersion: 2 });
    expect(result.status === 'registered' && result.claims).toMatchObject({
      productCode: 'prod-container',
      nonce: 'task-verified',
    });
    expect(emulator.ledger.registrations().at(-1)).toMatchObject({
      nonce: 'task-verified',
      region: 'us-east-1',
    });
  });

  it('calls RegisterUsage once per process and nonce, however often it is awaited', async () => {
    const before = emulator.ledger.registrations().length;
    const once = options();
    const [first, second] = await Promise.all([registerContainer(once), registerContainer(once)]);
    await registerContainer(once);
    expect(second).toBe(first);
    expect(emulator.ledger.registrations().length).toBe(before + 1);
  });

  it('fails closed with not-entitled when the buyer has no subscription', async () => {
    const error = await failureOf(registerContainer(options({ productCode: 'prod-unpaid' })));
    expect(error).toMatchObject({ reason: 'not-entitled', awsErrorName: 'CustomerNotEntitledException' });
  });

  it('fails closed on an error other than throttling without retrying it', async () => {
    emulator.control.scheduleFaults({ fault: 'internal-error', operation: 'RegisterUsage', count: 1 });
    const calls = emulator.ledger.calls().length;
    const error = await failureOf(registerContainer(options()));
    expect(error).toMatchObject({ reason: 'refused', awsErrorName: 'InternalServiceErrorException' });
    expect(emulator.ledger.calls().length).toBe(calls + 1);
  });

  it('retries ThrottlingException with backoff and then registers', async () => {
    emulator.control.scheduleFaults({ fault: 'throttle', operation: 'RegisterUsage', count: 3 });
    const delays: number[] = [];
    const result = await registerContainer(
      options({ random: () => 0.5, sleep: async (ms) => void delays.push(ms) }),
    );
    expect(result.status).toBe('registered');
    expect(delays).toEqual([250, 500, 1000]);
  });

  it('gives up as throttled once the deadline has passed', async () => {
    emulator.control.scheduleFaults({ fault: 'throttle', operation: 'RegisterUsage', count: 100 });
    let now = 0;
    const error = await failureOf(
      registerContainer(
        options({
          timeoutMillis: 10_000,
          random: () => 0.99,
          now: () => now,
          sleep: async (ms) => {
            now += ms;
          },
        }),
      ),
    );
    emulator.control.replaceFaults({ quota: false });
    expect(error.reason).toBe('throttled');
  });

  it('refuses an answer signed by another key', async () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const error = await failureOf(registerContainer(options({ verificationKey: publicKey })));
    expect(error.reason).toBe('invalid-signature');
  });

  it('warns that the key version has expired when AWS says it was rotated', async () => {
    const warnings: string[] = [];
    const result = await registerContainer(
      options({
        publicKeyVersion: 1,
        logger: { ...silentLogger, warn: (message: string) => void warnings.push(message) },
      }),
    );
    expect(result.status === 'registered' && result.publicKeyRotationTimestamp).toBeInstanceOf(Date);
    expect(warnings).toEqual([expect.stringMatching(/version 1 has expired/)]);
  });

  it('starts anyway when failOpen is set, logging the failure as an error', async () => {
    const errors: string[] = [];
    const result = await registerContainer(
      options({
        productCode: 'prod-unpaid',
        failOpen: true,
        logger: { ...silentLogger, error: (message: string) => void errors.push(message) },
      }),
    );
    expect(result.status).toBe('failed-open');
    expect(errors).toEqual([expect.stringMatching(/FAILED and failOpen is set/)]);
  });

  it('warns at every start when the answer cannot be verified for want of a key', async () => {
    const warnings: string[] = [];
    const result = await registerContainer(
      options({
        verificationKey: undefined,
        logger: { ...silentLogger, warn: (message: string) => void warnings.push(message) },
      }),
    );
    expect(result).toMatchObject({ status: 'registered', verified: false });
    expect(warnings).toEqual([expect.stringMatching(/NOT verified/)]);
  });

  it('takes the region from the SDK configuration and fails closed without one', async () => {
    const error = await failureOf(
      registerContainer(
        options({
          clientConfig: { endpoint: emulator.endpoint, credentials: CREDENTIALS, region: undefined },
        }),
      ),
    );
    expect(error.reason).toBe('refused');
  });
});
