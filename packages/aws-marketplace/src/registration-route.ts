/** The buyer's registration POST, end to end: read the form, ResolveCustomer, check the product, store, hand over. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { MarketplaceMeteringClient } from '@aws-sdk/client-marketplace-metering';
import {
  type Clock,
  type CustomerRef,
  type CustomerRegistry,
  consoleLogger,
  MeteringConfigurationError,
  type MeteringLogger,
  type RegisteredCustomer,
  type SubscriptionState,
  systemClock,
} from '@meterkit/core';
import { redact } from '@meterkit/core/sink';
import { type MeteringClientOptions, resolveClient } from './metering-client.js';
import { buyerMessages, RegistrationTokenError, ResolveCustomerError } from './registration-errors.js';
import { readRegistrationToken } from './registration-token.js';
import { resolveCustomer } from './resolve-customer.js';

/** Why a registration POST did not end in `onRegistered`. */
export type RegistrationFailureReason =
  | 'unsupported-media-type'
  | 'body-too-large'
  | 'token-missing'
  | 'token-malformed'
  | 'token-expired'
  | 'token-invalid'
  /** ResolveCustomer throttled, or AWS or the network failed: the same token may work in a moment. */
  | 'aws-unavailable'
  /** ResolveCustomer refused for a reason on the seller's side (credentials, permissions, region, account). */
  | 'aws-refused'
  /** The token belongs to a product this route does not serve. */
  | 'foreign-product'
  | 'registry-unavailable'
  /** `onRegistered` threw. */
  | 'hook-failed';

/** What the buyer is told, and what the operator learns, when registration fails. Never holds the token. */
export interface RegistrationFailure {
  readonly reason: RegistrationFailureReason;
  /** The HTTP status answered. */
  readonly status: number;
  /** Text for the buyer: what to do next, without internal details. */
  readonly buyerMessage: string;
  /** Text for the operator. */
  readonly detail: string;
  /** The AWS error name, when AWS answered. */
  readonly awsErrorName?: string;
}

/** What happened to one registration POST, for the operator's logs and metrics. */
export type RegistrationEvent =
  | {
      readonly type: 'registration.succeeded';
      /** The last characters of the account or customer identifier (see `redact()`). */
      readonly customer: string;
      readonly productCode: string;
      readonly freeTrial: boolean;
      readonly state: RegisteredCustomer['state'];
    }
  | ({ readonly type: 'registration.failed' } & RegistrationFailure);

/** Options of the registration route (Express `registrationRouter()`, Nest `RegistrationModule`). */
export interface RegistrationRouteOptions<
  Req extends IncomingMessage = IncomingMessage,
  Res extends ServerResponse = ServerResponse,
> extends MeteringClientOptions {
  /** Where buyers are stored. */
  registry: CustomerRegistry;
  /**
   * The metering engine (`MeteringEngine` fits). When given, a new buyer's state (`registered`: usage held until
   * `subscribe-success`) is applied to it before `onRegistered` runs, unless the engine already knows the customer
   * (an event got there first: its state is newer and is kept).
   */
  engine?: RegistrationListener;
  /** Your product code(s): a token for any other product is refused (403). */
  productCodes: string | readonly string[];
  /**
   * Called once the buyer is stored: link them to your app's account (`registry.link(customer.customer, accountId)`),
   * then answer, usually with a redirect to sign-up or sign-in. The same token twice calls it twice with the same
   * customer. When left out, a short HTML page says the subscription is registered.
   */
  onRegistered?: (customer: RegisteredCustomer, req: Req, res: Res) => void | Promise<void>;
  /** Answers a failure; the status is already chosen. @default a short HTML page with `failure.buyerMessage` */
  renderFailure?: (failure: RegistrationFailure, req: Req, res: Res) => void | Promise<void>;
  /** Receives every outcome (no token in any of them). @default failures are logged as warnings */
  onEvent?: (event: RegistrationEvent) => void;
  /** Largest form accepted; AWS's POST is far smaller. @default 16384 */
  maxBodyBytes?: number;
  logger?: MeteringLogger;
  clock?: Clock;
}

/** What the registration route tells about a new buyer: a metering engine (`MeteringEngine` fits). */
export interface RegistrationListener {
  subscriptionStateOf(customer: CustomerRef): SubscriptionState | undefined;
  applySubscriptionChange(customer: CustomerRef, state: SubscriptionState, source?: string): Promise<void>;
}

/** A registration request handler for Node's HTTP types (Express and Nest on Express pass theirs). Never rejects. */
export interface RegistrationHandler<
  Req extends IncomingMessage = IncomingMessage,
  Res extends ServerResponse = ServerResponse,
> {
  (req: Req, res: Res): Promise<void>;
  /** Releases the SDK client the handler built (none when you passed `client`). */
  close(): void;
}

const DEFAULT_MAX_BODY_BYTES = 16_384;
const FORM_TYPE = 'application/x-www-form-urlencoded';

/** A failure with its page, raised inside the handler and answered in one place. */
class Refusal extends Error {
  constructor(readonly failure: RegistrationFailure) {
    super(failure.detail);
  }
}

function refusal(
  reason: RegistrationFailureReason,
  status: number,
  buyerMessage: string,
  detail: string,
  awsErrorName?: string,
): Refusal {
  return new Refusal({
    reason,
    status,
    buyerMessage,
    detail,
    ...(awsErrorName !== undefined && { awsErrorName }),
  });
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A minimal page; apps that want their own look pass `renderFailure` / `onRegistered`. */
export function registrationPage(title: string, message: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head><body><h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p></body></html>`;
}

function sendPage(
  res: ServerResponse,
  status: number,
  title: string,
  message: string,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const body = registrationPage(title, message);
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(body);
}

/** The form, from what a body parser left on the request or read here from the stream, within `maxBytes`. */
async function readForm(
  req: IncomingMessage & { body?: unknown },
  maxBytes: number,
): Promise<Record<string, unknown> | string> {
  const length = Number(req.headers['content-length']);
  if (Number.isFinite(length) && length > maxBytes) {
    throw refusal(
      'body-too-large',
      413,
      buyerMessages.malformed,
      `the form is ${length} bytes; at most ${maxBytes} are read`,
    );
  }
  const parsed = req.body;
  if (typeof parsed === 'string') return parsed;
  if (
    parsed !== null &&
    typeof parsed === 'object' &&
    !Buffer.isBuffer(parsed) &&
    Object.keys(parsed).length > 0
  ) {
    return parsed as Record<string, unknown>;
  }
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== FORM_TYPE) {
    throw refusal(
      'unsupported-media-type',
      415,
      buyerMessages.missing,
      `expected a ${FORM_TYPE} form POST, got content-type ${JSON.stringify(req.headers['content-type'] ?? null)}`,
    );
  }
  if (Buffer.isBuffer(parsed)) return parsed.toString('utf8');
  if (req.readableEnded) return '';
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) {
      // Stop reading, answer, and let the connection close rather than drain an unbounded body.
      req.pause();
      throw refusal('body-too-large', 413, buyerMessages.malformed, `the form exceeds ${maxBytes} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function fromTokenError(error: RegistrationTokenError): Refusal {
  return refusal(`token-${error.reason}`, error.httpStatus, error.buyerMessage, error.message);
}

function fromResolveError(error: ResolveCustomerError): Refusal {
  return refusal(
    error.retryable ? 'aws-unavailable' : 'aws-refused',
    error.httpStatus,
    error.buyerMessage,
    error.message,
    error.awsErrorName,
  );
}

function identifierOf(customer: RegisteredCustomer['customer']): string {
  return redact(customer.licenseArn !== undefined ? customer.awsAccountId : customer.customerIdentifier);
}

/**
 * Builds the handler of AWS Marketplace's registration POST. It reads the `application/x-www-form-urlencoded` form
 * (at most `maxBodyBytes`; a body parser's result is used when there is one), resolves `x-amzn-marketplace-token` at
 * once with ResolveCustomer, refuses a token of another product, stores the buyer in the registry (with the
 * free-trial flag of `x-amzn-marketplace-offer-type=free-trial`) and calls `onRegistered`. Failures answer a page
 * for the buyer (400 for a missing, malformed, expired or invalid token; 503 with `Retry-After` for throttling and
 * outages; 502 when AWS refuses the seller's call; 403 for another product's token; 413, 415) and an event for the
 * operator. The token is never logged and never in an event.
 *
 * @example
 * ```ts
 * const handler = createRegistrationHandler({
 *   registry, productCodes: 'prod-abc',
 *   onRegistered: async (customer, req, res) => { res.writeHead(303, { location: '/signup' }).end(); },
 * });
 * ```
 * @throws {MeteringConfigurationError} for invalid options (at creation, not on the first buyer).
 */
export function createRegistrationHandler<
  Req extends IncomingMessage = IncomingMessage,
  Res extends ServerResponse = ServerResponse,
>(options: RegistrationRouteOptions<Req, Res>): RegistrationHandler<Req, Res> {
  const where = 'registration';
  if (options === null || typeof options !== 'object') {
    throw new MeteringConfigurationError(
      'ERR_METERING_INVALID_OPTION',
      where,
      'registration: options must be an object',
    );
  }
  const registry = options.registry;
  if (registry === undefined || typeof registry !== 'object' || typeof registry.register !== 'function') {
    throw new MeteringConfigurationError(
      'ERR_METERING_INVALID_OPTION',
      `${where}.registry`,
      'registration: option `registry` must be a CustomerRegistry (MemoryRegistry, SqliteRegistry, RedisRegistry), where buyers are stored.',
    );
  }
  const productCodes =
    typeof options.productCodes === 'string' ? [options.productCodes] : options.productCodes;
  if (
    !Array.isArray(productCodes) ||
    productCodes.length === 0 ||
    productCodes.some((p) => typeof p !== 'string' || p === '')
  ) {
    throw new MeteringConfigurationError(
      'ERR_METERING_INVALID_OPTION',
      `${where}.productCodes`,
      'registration: option `productCodes` must be your product code or a non-empty array of them; tokens of any other product are refused.',
    );
  }
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  if (!Number.isSafeInteger(maxBodyBytes) || maxBodyBytes < 256) {
    throw new MeteringConfigurationError(
      'ERR_METERING_INVALID_OPTION',
      `${where}.maxBodyBytes`,
      `registration: option \`maxBodyBytes\` is ${JSON.stringify(maxBodyBytes)}, but it must be an integer of at least 256.`,
    );
  }
  const engine = options.engine;
  if (
    engine !== undefined &&
    (engine === null ||
      typeof engine !== 'object' ||
      typeof engine.applySubscriptionChange !== 'function' ||
      typeof engine.subscriptionStateOf !== 'function')
  ) {
    throw new MeteringConfigurationError(
      'ERR_METERING_INVALID_OPTION',
      `${where}.engine`,
      'registration: option `engine` must be the metering engine (`metering.engine`), told about each new buyer.',
    );
  }
  for (const hook of ['onRegistered', 'renderFailure', 'onEvent'] as const) {
    if (options[hook] !== undefined && typeof options[hook] !== 'function') {
      throw new MeteringConfigurationError(
        'ERR_METERING_INVALID_OPTION',
        `${where}.${hook}`,
        `registration: option \`${hook}\` must be a function.`,
      );
    }
  }
  const logger = options.logger ?? consoleLogger;
  const clock = options.clock ?? systemClock;
  const { client, owned } = resolveClient(options, where);
  const sharedClient: MarketplaceMeteringClient = client;
  const emit = (event: RegistrationEvent): void => {
    try {
      if (options.onEvent !== undefined) options.onEvent(event);
      else if (event.type === 'registration.failed') {
        logger.warn(`registration refused (${event.reason}, HTTP ${event.status}): ${event.detail}`);
      }
    } catch (error) {
      logger.error('a registration onEvent listener threw; ignored', { error: String(error) });
    }
  };

  async function fail(failure: RegistrationFailure, req: Req, res: Res): Promise<void> {
    emit({ type: 'registration.failed', ...failure });
    if (failure.status === 503) res.setHeader('retry-after', '30');
    if (options.renderFailure !== undefined) {
      try {
        res.statusCode = failure.status;
        await options.renderFailure(failure, req, res);
        return;
      } catch (error) {
        logger.error('registration renderFailure threw; answering the default page', {
          error: String(error),
        });
      }
    }
    const title =
      failure.status >= 500 ? 'Please try again shortly' : 'We could not complete your registration';
    sendPage(res, failure.status, title, failure.buyerMessage);
  }

  const handler = async (req: Req, res: Res): Promise<void> => {
    let customer: RegisteredCustomer;
    try {
      const form = await readForm(req, maxBodyBytes);
      let request: ReturnType<typeof readRegistrationToken>;
      try {
        request = readRegistrationToken(form);
      } catch (error) {
        if (error instanceof RegistrationTokenError) throw fromTokenError(error);
        throw error;
      }
      let resolved: Awaited<ReturnType<typeof resolveCustomer>>;
      try {
        resolved = await resolveCustomer(request.token, { client: sharedClient });
      } catch (error) {
        if (error instanceof RegistrationTokenError) throw fromTokenError(error);
        if (error instanceof ResolveCustomerError) throw fromResolveError(error);
        throw error;
      }
      const productCode = resolved.productCode;
      if (productCode === undefined || !productCodes.includes(productCode)) {
        throw refusal(
          'foreign-product',
          403,
          'This registration link is for a product we do not offer here. Please check the link from your AWS Marketplace subscription.',
          `the token resolved to product ${JSON.stringify(productCode ?? null)}, not one of ${productCodes.join(', ')}`,
        );
      }
      try {
        customer = await registry.register({
          customer: resolved,
          productCode,
          freeTrial: request.isFreeTrial,
          at: clock.now(),
        });
      } catch (error) {
        throw refusal(
          'registry-unavailable',
          503,
          buyerMessages.unavailable,
          `the ${registry.name} registry failed: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
    } catch (error) {
      const failure =
        error instanceof Refusal
          ? error.failure
          : {
              reason: 'aws-unavailable' as const,
              status: 503,
              buyerMessage: buyerMessages.unavailable,
              detail: error instanceof Error ? error.message : String(error),
            };
      await fail(failure, req, res);
      return;
    }
    emit({
      type: 'registration.succeeded',
      customer: identifierOf(customer.customer),
      productCode: customer.productCode,
      freeTrial: customer.freeTrial,
      state: customer.state,
    });
    try {
      // Only a customer the engine has not heard of: an event applied meanwhile (subscribe-success) is newer.
      if (engine !== undefined && engine.subscriptionStateOf(customer.customer) === undefined) {
        await engine.applySubscriptionChange(customer.customer, customer.state, 'registration');
      }
      if (options.onRegistered !== undefined) await options.onRegistered(customer, req, res);
      else sendPage(res, 200, 'Registration complete', 'Your AWS Marketplace subscription is registered.');
    } catch (error) {
      await fail(
        {
          reason: 'hook-failed',
          status: 500,
          buyerMessage: buyerMessages.unavailable,
          detail: `onRegistered threw: ${error instanceof Error ? error.message : String(error)}`,
        },
        req,
        res,
      );
    }
  };
  return Object.assign(handler, {
    close(): void {
      if (owned) sharedClient.destroy();
    },
  });
}
