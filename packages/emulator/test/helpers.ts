/** Shared fixtures of the emulator tests: a fixed clock, credentials, and clients pointed at a started emulator. */
import { MarketplaceMeteringClient } from '@aws-sdk/client-marketplace-metering';
import { type Emulator, type EmulatorOptions, startEmulator } from '../src/index.js';

/** 2026-03-15T12:30:00Z — mid-month, mid-hour, so window edges are far away unless a test moves the clock. */
export const NOW = Date.UTC(2026, 2, 15, 12, 30, 0);
export const HOUR = 3_600_000;
export const CREDENTIALS = { accessKeyId: 'AKIDEMULATORTEST', secretAccessKey: 'emulator-test-secret' };

/** Starts an emulator on a free port with a fixed clock; tests move it through the control API. */
export function start(options: EmulatorOptions = {}): Promise<Emulator> {
  return startEmulator({ port: 0, now: () => NOW, ...options });
}

/** A real SDK client pointed at the emulator, without retries so each call is one request. */
export function client(
  emulator: Emulator,
  overrides: Partial<ConstructorParameters<typeof MarketplaceMeteringClient>[0]> = {},
): MarketplaceMeteringClient {
  return new MarketplaceMeteringClient({
    endpoint: emulator.endpoint,
    region: 'us-east-1',
    credentials: CREDENTIALS,
    maxAttempts: 1,
    ...overrides,
  });
}

/** Epoch-seconds Date for `millis` (what the SDK turns into a wire timestamp). */
export function at(millis: number): Date {
  return new Date(millis);
}

/** Sends a raw awsJson request with a syntactically valid, unverified SigV4 header. */
export async function rawCall(
  emulator: Emulator,
  operation: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const response = await fetch(emulator.endpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': `AWSMPMeteringService.${operation}`,
      authorization:
        'AWS4-HMAC-SHA256 Credential=AKIDEMULATORTEST/20260315/us-east-1/aws-marketplace/aws4_request, SignedHeaders=host;x-amz-date, Signature=00',
      'x-amz-date': '20260315T123000Z',
      ...headers,
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : {}, headers: response.headers };
}
