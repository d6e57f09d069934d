/**
 * The HTTP side of subscription events, for any framework: an SNS HTTPS subscription (signed, with subscription
 * confirmation) and an EventBridge API destination (authenticated by a shared secret header).
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { MeteringConfigurationError } from '@meterkit/core';
import type { MarketplaceEventHandler, MarketplaceEventOutcome } from './marketplace-event-handler.js';

/** Bodies above this are refused before parsing: SNS messages are at most 256 KB. */
export const MAX_EVENT_BODY_BYTES = 256 * 1024;

export interface MarketplaceEventEndpointOptions {
  readonly handler: MarketplaceEventHandler;
  /**
   * The header an EventBridge API destination's connection adds (API key authorization), and its value. Without it,
   * only signed SNS messages are accepted on this endpoint.
   */
  readonly eventBridgeSecret?: { readonly header: string; readonly value: string };
}

/** The answer to write: a status and a short JSON body (no customer identifiers). */
export interface EndpointAnswer {
  readonly status: number;
  readonly body: { readonly status: string; readonly reason?: string };
  readonly outcome?: MarketplaceEventOutcome;
}

/**
 * Checks the options at start-up.
 * @throws {MeteringConfigurationError} when the shared secret is empty or its header name is not a header name.
 */
export function assertEndpointOptions(
  options: Pick<MarketplaceEventEndpointOptions, 'eventBridgeSecret'>,
): void {
  const secret = options.eventBridgeSecret;
  if (secret === undefined) return;
  if (!/^[A-Za-z0-9-]+$/.test(secret.header)) {
    throw new MeteringConfigurationError(
      'ERR_METERING_INVALID_OPTION',
      'eventBridgeSecret.header',
      'eventBridgeSecret.header must be an HTTP header name (letters, digits and dashes)',
    );
  }
  if (typeof secret.value !== 'string' || secret.value.length < 16) {
    throw new MeteringConfigurationError(
      'ERR_METERING_INVALID_OPTION',
      'eventBridgeSecret.value',
      'eventBridgeSecret.value must be a secret of at least 16 characters (it is all that authenticates EventBridge)',
    );
  }
}

function secretMatches(expected: string, given: string | string[] | undefined): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(given, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Handles one POST. SNS messages are verified by signature; anything else must carry the EventBridge secret.
 * A failure of the registry or engine answers 500, so SNS or EventBridge delivers the event again.
 */
export async function answerMarketplaceEventRequest(
  options: MarketplaceEventEndpointOptions,
  request: { readonly headers: IncomingHttpHeaders; readonly body: Buffer | string },
): Promise<EndpointAnswer> {
  const secret = options.eventBridgeSecret;
  const trusted =
    secret !== undefined && secretMatches(secret.value, request.headers[secret.header.toLowerCase()]);
  let outcome: MarketplaceEventOutcome;
  try {
    outcome = await options.handler.handleMarketplaceEvent(request.body, { trusted });
  } catch {
    return {
      status: 500,
      body: { status: 'error', reason: 'the event could not be applied; deliver it again' },
    };
  }
  switch (outcome.status) {
    case 'applied':
    case 'confirmed':
    case 'ignored':
      return { status: 200, body: { status: outcome.status }, outcome };
    case 'invalid':
      return { status: 400, body: { status: outcome.status, reason: outcome.reason }, outcome };
    case 'unverified':
      return { status: 403, body: { status: outcome.status, reason: outcome.reason }, outcome };
  }
}
