/**
 * The HTTP control API, under {@link CONTROL_PREFIX}, for processes that cannot hold the library
 * handle (a chaos test spanning several processes, an example app started separately). Plain JSON;
 * times are epoch milliseconds. Errors answer `{"error": "..."}` with status 400 (bad input) or 404.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EmulatorControl, IssueTokenInput } from './control.js';
import { EmulatorConfigurationError } from './errors.js';
import type { FaultOptions, ScheduledFault } from './faults.js';
import type { Ledger } from './ledger.js';
import type { NotificationOptions } from './notifier.js';
import type { CustomerConfig, ProductConfig } from './options.js';
import { readBody } from './protocol.js';
import type { UsagePublicKey } from './usage-signer.js';

/** Path prefix reserved for the control API. */
export const CONTROL_PREFIX = '/_emulator';

/** Body of `POST /_emulator/faults`. */
export interface FaultsRequest extends FaultOptions {
  /** Replace the whole configuration instead of merging. @default false */
  replace?: boolean;
  /** Faults for the next matching calls. */
  schedule?: ScheduledFault[];
}

/** Body of `POST /_emulator/clock`: exactly one of the two fields. */
export interface ClockRequest {
  nowMillis?: number;
  advanceMillis?: number;
}

/** What the control API reads from. */
export interface ControlApiDeps {
  readonly control: EmulatorControl;
  readonly ledger: Ledger;
  readonly publicKey: UsagePublicKey;
  readonly publicKeyVersion: number;
  readonly endpoint: () => string;
}

type Handler = (body: unknown, deps: ControlApiDeps) => unknown;

const ROUTES: Record<string, Handler> = {
  'GET /health': (_, d) => ({ status: 'ok', endpoint: d.endpoint(), nowMillis: d.control.clock.now() }),
  'GET /ledger': (_, d) => ({
    records: d.ledger.records(),
    totals: d.ledger.totals(),
    registrations: d.ledger.registrations(),
  }),
  'GET /calls': (_, d) => ({ calls: d.ledger.calls() }),
  'GET /products': (_, d) => ({ products: d.control.products(), licenses: d.control.licenses() }),
  'POST /products': (body, d) => d.control.putProduct(asObject<ProductConfig>(body)),
  'GET /customers': (_, d) => ({ customers: d.control.customers() }),
  'POST /customers': (body, d) => d.control.putCustomer(asObject<CustomerConfig>(body)),
  'POST /entitlements': (body, d) => d.control.updateEntitlement(asObject<CustomerConfig>(body)),
  'GET /tokens': (_, d) => ({ tokens: d.control.tokens() }),
  'POST /tokens': (body, d) => d.control.issueToken(asObject<IssueTokenInput>(body)),
  'GET /faults': (_, d) => d.control.faults(),
  'POST /faults': (body, d) => {
    const { replace, schedule, ...options } = asObject<FaultsRequest>(body);
    if (replace) d.control.replaceFaults(options);
    else d.control.setFaults(options);
    if (schedule) d.control.scheduleFaults(...schedule);
    return d.control.faults();
  },
  'GET /clock': (_, d) => ({ nowMillis: d.control.clock.now() }),
  'POST /clock': (body, d) => {
    const { nowMillis, advanceMillis } = asObject<ClockRequest>(body);
    if ((nowMillis === undefined) === (advanceMillis === undefined)) {
      throw new EmulatorConfigurationError('give exactly one of nowMillis and advanceMillis');
    }
    if (nowMillis !== undefined) d.control.clock.set(nowMillis);
    else d.control.clock.advance(advanceMillis!);
    return { nowMillis: d.control.clock.now() };
  },
  'POST /reset': (_, d) => {
    d.control.reset();
    return { status: 'reset' };
  },
  'GET /notifications': (_, d) => ({ notifications: d.control.notifications() }),
  'POST /notifications': (body, d) => d.control.setNotifications(asObject<NotificationOptions>(body)),
  'GET /public-key': (_, d) => ({ ...d.publicKey, version: d.publicKeyVersion }),
};

/** @internal Handles one request under {@link CONTROL_PREFIX}. */
export async function handleControlRequest(
  deps: ControlApiDeps,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const path = (req.url ?? '').split('?')[0]!.slice(CONTROL_PREFIX.length) || '/';
  const handler = ROUTES[`${req.method} ${path}`];
  try {
    const { body, tooLarge } = await readBody(req);
    if (!handler)
      return reply(res, 404, { error: `No control route ${req.method} ${CONTROL_PREFIX}${path}` });
    if (tooLarge) return reply(res, 400, { error: 'Control request bodies must be smaller than 1 MB' });
    let parsed: unknown = {};
    if (body.length > 0) {
      try {
        parsed = JSON.parse(body.toString('utf8'));
      } catch {
        return reply(res, 400, { error: 'The request body is not valid JSON' });
      }
    }
    reply(res, 200, handler(parsed, deps));
  } catch (error) {
    if (error instanceof EmulatorConfigurationError) return reply(res, 400, { error: error.message });
    reply(res, 500, { error: (error as Error).message });
  }
}

function asObject<T>(body: unknown): T {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new EmulatorConfigurationError('the request body must be a JSON object');
  }
  return body as T;
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  const payload = Buffer.from(JSON.stringify(body), 'utf8');
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': payload.length });
  res.end(payload);
}
