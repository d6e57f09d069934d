/**
 * Starting and stopping an emulator: one HTTP server carrying both the service endpoint and the
 * control API.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createControl, type EmulatorControl } from './control.js';
import { CONTROL_PREFIX, handleControlRequest } from './control-api.js';
import { EVENT_QUEUE_NAME, SQS_TARGET_PREFIX } from './event-queue.js';
import type { Ledger } from './ledger.js';
import { type EmulatorOptions, resolveOptions } from './options.js';
import { handleServiceRequest } from './server.js';
import { EmulatorState } from './state.js';
import type { UsagePublicKey } from './usage-signer.js';

/** A running emulator. */
export interface Emulator {
  /** Base URL to give a Marketplace Metering client, e.g. `http://127.0.0.1:43127`. */
  readonly endpoint: string;
  /** The bound TCP port. */
  readonly port: number;
  /** The bound interface. */
  readonly host: string;
  /** What was billed and every call received. */
  readonly ledger: Ledger;
  /** Products, customers, tokens, faults, clock and reset. */
  readonly control: EmulatorControl;
  /** The key that signs RegisterUsage answers, to verify them with. */
  readonly publicKey: UsagePublicKey;
  /** URL of the emulator's queue of subscription notifications, for `@aws-sdk/client-sqs` (`endpoint` = {@link endpoint}). */
  readonly queueUrl: string;
  /**
   * PEM of the public key that verifies the emulator's SNS signatures (also served at
   * `GET /_emulator/sns-signing-key.pem`). Point an SNS verifier's certificate source at it.
   */
  readonly snsSigningKeyPem: string;
  /** Resolves once every notification POST started so far has been answered (or failed). */
  notificationsSettled(): Promise<void>;
  /** Stops listening and closes open connections. Safe to call twice. */
  close(): Promise<void>;
}

/**
 * Starts a local Marketplace Metering Service.
 *
 * @example
 * ```ts
 * const emulator = await startEmulator({ products: [{ productCode: 'prod-abc', dimensions: ['requests'] }] });
 * const client = new MarketplaceMeteringClient({ endpoint: emulator.endpoint, region: 'us-east-1' });
 * // ... meter, then assert:
 * expect(emulator.ledger.totalQuantity({ dimension: 'requests' })).toBe(42);
 * await emulator.close();
 * ```
 * @throws {EmulatorConfigurationError} for invalid options.
 */
export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const resolved = resolveOptions(options);
  const state = new EmulatorState(resolved);
  const control = createControl(state);
  let endpoint = '';
  const deps = {
    control,
    ledger: state.ledger,
    publicKey: state.signer.publicKey,
    publicKeyVersion: resolved.publicKeyVersion,
    endpoint: () => endpoint,
  };
  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === `${CONTROL_PREFIX}/sns-signing-key.pem`) {
      res.writeHead(200, { 'content-type': 'application/x-pem-file' }).end(state.notifier.signingKeyPem);
      return;
    }
    const target = String(req.headers['x-amz-target'] ?? '');
    const handling = target.startsWith(SQS_TARGET_PREFIX)
      ? state.queue.handle(req, res, endpoint)
      : (req.url ?? '').startsWith(CONTROL_PREFIX)
        ? handleControlRequest(deps, req, res)
        : handleServiceRequest(state, req, res);
    handling.catch((error: unknown) => {
      // Handlers answer their own errors; reaching here means the socket itself failed.
      if (!res.headersSent) res.writeHead(500).end(String(error));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(resolved.port, resolved.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const hostForUrl = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  endpoint = `http://${hostForUrl}:${address.port}`;
  let closing: Promise<void> | undefined;
  return {
    endpoint,
    port: address.port,
    host: address.address,
    ledger: state.ledger,
    control,
    publicKey: state.signer.publicKey,
    queueUrl: `${endpoint}/000000000000/${EVENT_QUEUE_NAME}`,
    snsSigningKeyPem: state.notifier.signingKeyPem,
    notificationsSettled: () => state.notifier.settled(),
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // SDK clients keep connections alive; without this close() would wait for them to idle out.
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
