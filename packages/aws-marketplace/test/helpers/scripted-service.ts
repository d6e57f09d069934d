/** A local HTTP service that answers the SDK with scripted responses, errors or cut connections, and logs calls. */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  MarketplaceMeteringClient,
  type MarketplaceMeteringClientConfig,
} from '@aws-sdk/client-marketplace-metering';

/** One request the service received. */
export interface ReceivedCall {
  /** Operation from `X-Amz-Target`, e.g. `BatchMeterUsage`. */
  readonly operation: string;
  readonly body: Record<string, unknown>;
  readonly rawBody: string;
  readonly headers: IncomingMessage['headers'];
}

/** An answer: JSON with a status, an AWS error, or a connection cut without an answer. */
export type ScriptedAnswer =
  | { readonly status?: number; readonly json: unknown; readonly headers?: Record<string, string> }
  | {
      readonly error: string;
      readonly status?: number;
      readonly message?: string;
      readonly headers?: Record<string, string>;
    }
  | 'hang-up'
  /** Never answers (for abort tests). */
  | 'silence';

/**
 * A local HTTP server speaking awsJson1_1 whose answers a test scripts, so the real SDK client serializes requests
 * and parses answers over the wire.
 */
export async function startScriptedService(answer: (call: ReceivedCall, index: number) => ScriptedAnswer) {
  const calls: ReceivedCall[] = [];
  const server = createServer(async (req, res) => {
    let rawBody = '';
    for await (const chunk of req) rawBody += chunk;
    const target = String(req.headers['x-amz-target'] ?? '');
    const call: ReceivedCall = {
      operation: target.slice(target.indexOf('.') + 1),
      body: rawBody === '' ? {} : (JSON.parse(rawBody) as Record<string, unknown>),
      rawBody,
      headers: req.headers,
    };
    calls.push(call);
    const scripted = answer(call, calls.length - 1);
    if (scripted === 'silence') return;
    if (scripted === 'hang-up') {
      req.socket.destroy();
      return;
    }
    const headers = { 'content-type': 'application/x-amz-json-1.1', ...scripted.headers };
    if ('error' in scripted) {
      res.writeHead(scripted.status ?? 400, headers);
      res.end(JSON.stringify({ __type: scripted.error, message: scripted.message ?? scripted.error }));
      return;
    }
    res.writeHead(scripted.status ?? 200, headers);
    res.end(JSON.stringify(scripted.json));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    calls,
    /** Client configuration pointing at this service, with static fake credentials. */
    clientConfig(overrides: MarketplaceMeteringClientConfig = {}): MarketplaceMeteringClientConfig {
      return {
        endpoint,
        region: 'us-east-1',
        credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' },
        ...overrides,
      };
    },
    client(overrides: MarketplaceMeteringClientConfig = {}) {
      return new MarketplaceMeteringClient(this.clientConfig({ maxAttempts: 1, ...overrides }));
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Echoes every record of a BatchMeterUsage request as `Success`, in the order sent. */
export function allSucceed(call: ReceivedCall): ScriptedAnswer {
  const records = (call.body.UsageRecords ?? []) as unknown[];
  return {
    json: {
      Results: records.map((r, i) => ({ UsageRecord: r, MeteringRecordId: `mr-${i}`, Status: 'Success' })),
      UnprocessedRecords: [],
    },
  };
}
