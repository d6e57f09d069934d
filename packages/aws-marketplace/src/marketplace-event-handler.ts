/** One handler for AWS Marketplace subscription events: verifies, records the state in the registry, tells the engine. */
import type {
  CustomerRef,
  CustomerRegistry,
  MeteringLogger,
  RegisteredCustomer,
  SubscriptionState,
} from '@meterkit/core';
import { silentLogger } from '@meterkit/core';
import { redact } from '@meterkit/core/sink';
import {
  type MarketplaceAction,
  type MarketplaceEvent,
  parseMarketplaceDocument,
  parseSnsMessage,
} from './marketplace-event.js';
import {
  type CertificateSource,
  checkSigningCertUrl,
  httpsCertificateSource,
  verifySnsSignature,
} from './sns-signature.js';

/** What the handler tells about a state change: a metering engine (`MeteringEngine` fits). */
export interface SubscriptionListener {
  applySubscriptionChange(customer: CustomerRef, state: SubscriptionState, source?: string): Promise<void>;
}

export interface MarketplaceEventHandlerOptions {
  /** The metering engine: holds, seals or refuses usage as the subscription changes. */
  readonly engine?: SubscriptionListener;
  /** Where subscription states and their history are kept. */
  readonly registry?: CustomerRegistry;
  /** Your product codes. Events naming another product are ignored. @default every product */
  readonly productCodes?: readonly string[];
  /**
   * SNS topics you subscribed to (`aws-mp-subscription-notification-<productCode>`). A valid signature proves SNS sent
   * the message, not that it came from your topic, so set this in production. @default every topic
   */
  readonly topicArns?: readonly string[];
  /** Where signing certificates come from. @default fetched over HTTPS from SNS and kept */
  readonly certificateSource?: CertificateSource;
  /**
   * Confirms an SNS HTTPS subscription by fetching its `SubscribeURL` (always an https `sns.<region>.amazonaws.com`
   * address: any other is refused as `invalid` before this is called).
   * @default a GET
   */
  readonly confirmSubscription?: (subscribeUrl: string) => Promise<void>;
  /** Runs after the registry and the engine have the change (provision, revoke access, e-mail). */
  readonly onEvent?: (event: MarketplaceEvent) => void | Promise<void>;
  /** @default Date.now */
  readonly clock?: { now(): number };
  readonly logger?: MeteringLogger;
}

/** What became of one document. Invalid and unverified documents are values, not exceptions. */
export type MarketplaceEventOutcome =
  | {
      readonly status: 'applied';
      readonly event: MarketplaceEvent;
      readonly state: SubscriptionState | undefined;
    }
  | { readonly status: 'confirmed'; readonly topicArn: string }
  | { readonly status: 'ignored'; readonly reason: string }
  | { readonly status: 'invalid'; readonly reason: string }
  | { readonly status: 'unverified'; readonly reason: string };

export interface HandleContext {
  /**
   * The channel itself proved the sender: an SQS queue only AWS writes to, or an EventBridge API destination whose
   * shared secret was checked. Without it only signed SNS messages are accepted. @default false
   */
  readonly trusted?: boolean;
}

export interface MarketplaceEventHandler {
  /**
   * Handles one document: an SNS envelope, a bare SNS message or an EventBridge event (a JSON string, bytes or the
   * parsed value). Rejects only when the registry, the engine or `onEvent` fails: answer 5xx (or leave the SQS
   * message) so AWS delivers it again; every step is idempotent.
   */
  handleMarketplaceEvent(input: unknown, context?: HandleContext): Promise<MarketplaceEventOutcome>;
}

/** The state each action leads to; `entitlement-updated` changes none. */
export const STATE_AFTER: Readonly<Record<MarketplaceAction, SubscriptionState | undefined>> = {
  'subscribe-success': 'subscribed',
  'subscribe-fail': 'subscribe-failed',
  'unsubscribe-pending': 'unsubscribe-pending',
  'unsubscribe-success': 'unsubscribed',
  'entitlement-updated': undefined,
};

/** Where each state sits in the lifecycle: of two events sent at the same instant, the later stage wins. */
const STAGE: Readonly<Record<SubscriptionState, number>> = {
  registered: 0,
  subscribed: 1,
  'subscribe-failed': 1,
  'unsubscribe-pending': 2,
  unsubscribed: 3,
};

/**
 * True when a later event about this customer was already applied: SNS and SQS may deliver out of order, and a
 * redelivered `subscribe-success` must not undo the `unsubscribe-pending` sent after it.
 */
function isStale(history: RegisteredCustomer['history'], state: SubscriptionState, time: number): boolean {
  for (let i = history.length - 1; i >= 0; i--) {
    const change = history[i] as RegisteredCustomer['history'][number];
    // Only changes that came from AWS's events carry AWS's clock; registration uses ours.
    if (change.source !== 'sns' && change.source !== 'eventbridge') continue;
    return time < change.at || (time === change.at && STAGE[state] < STAGE[change.state]);
  }
  return false;
}

/** Whether a SubscribeURL is on SNS's own hosts: the URL comes from the request body, so nothing else is fetched. */
function isSnsUrl(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  return (
    url.protocol === 'https:' &&
    url.port === '' &&
    checkSigningCertUrl(`https://${url.hostname}/x.pem`) === undefined
  );
}

/** GETs the SubscribeURL. */
async function confirmOnSns(subscribeUrl: string): Promise<void> {
  const response = await fetch(subscribeUrl);
  if (!response.ok) throw new Error(`confirming the SNS subscription answered ${response.status}`);
}

/**
 * Creates the handler for AWS Marketplace subscription events.
 * @example
 * ```ts
 * const events = createMarketplaceEventHandler({ engine, registry, productCodes: ['prod-abc123'] });
 * await events.handleMarketplaceEvent(body);
 * ```
 */
export function createMarketplaceEventHandler(
  options: MarketplaceEventHandlerOptions,
): MarketplaceEventHandler {
  const certificateSource = options.certificateSource ?? httpsCertificateSource();
  const confirm = options.confirmSubscription ?? confirmOnSns;
  const logger = options.logger ?? silentLogger;
  const now = () => (options.clock ?? Date).now();

  async function apply(event: MarketplaceEvent): Promise<MarketplaceEventOutcome> {
    if (
      options.productCodes !== undefined &&
      event.productCode !== undefined &&
      !options.productCodes.includes(event.productCode)
    ) {
      return { status: 'ignored', reason: `product ${event.productCode} is not one of ours` };
    }
    const state = STATE_AFTER[event.action];
    logger.info(`marketplace event ${event.action}`, {
      customer: redact(event.customer.licenseArn ?? event.customer.customerIdentifier),
      channel: event.channel,
    });
    if (state !== undefined && options.registry !== undefined && event.time !== undefined) {
      const current = await options.registry.get(event.customer);
      if (current !== undefined && isStale(current.history, state, event.time)) {
        return { status: 'ignored', reason: 'stale: a later event about this customer was already applied' };
      }
    }
    if (state !== undefined) {
      // The registry first: it is what survives a restart; the engine's copy is rebuilt from it.
      const detail = [event.detailType, event.freeTrial === true ? 'free-trial' : undefined]
        .filter((part) => part !== undefined)
        .join('; ');
      await options.registry?.setState(event.customer, {
        state,
        at: event.time ?? now(),
        source: event.channel,
        ...(detail !== '' && { detail }),
      });
      await options.engine?.applySubscriptionChange(event.customer, state, event.channel);
    }
    await options.onEvent?.(event);
    return { status: 'applied', event, state };
  }

  return {
    async handleMarketplaceEvent(input, context = {}) {
      const parsed = parseMarketplaceDocument(input);
      switch (parsed.kind) {
        case 'invalid':
        case 'ignored':
          return { status: parsed.kind, reason: parsed.reason };
        case 'event':
          if (context.trusted !== true) {
            return {
              status: 'unverified',
              reason: 'unsigned events are accepted only from a trusted channel',
            };
          }
          return apply(parsed.event);
        case 'sns-envelope': {
          const { envelope } = parsed;
          if (options.topicArns !== undefined && !options.topicArns.includes(envelope.TopicArn)) {
            return { status: 'ignored', reason: 'the message is from a topic not in topicArns' };
          }
          const verification = await verifySnsSignature(envelope, certificateSource);
          if (!verification.valid) return { status: 'unverified', reason: verification.reason };
          if (envelope.Type === 'SubscriptionConfirmation') {
            if (!isSnsUrl(envelope.SubscribeURL as string)) {
              return {
                status: 'invalid',
                reason: 'SubscribeURL is not on an sns.<region>.amazonaws.com host',
              };
            }
            await confirm(envelope.SubscribeURL as string);
            logger.info('confirmed the SNS subscription', { topicArn: envelope.TopicArn });
            return { status: 'confirmed', topicArn: envelope.TopicArn };
          }
          if (envelope.Type === 'UnsubscribeConfirmation') {
            return { status: 'ignored', reason: 'the SNS subscription was removed' };
          }
          const message = parseSnsMessage(envelope.Message, envelope.MessageId, envelope.Timestamp);
          if (message.kind !== 'event') {
            return {
              status: message.kind === 'sns-envelope' ? 'invalid' : message.kind,
              reason: 'reason' in message ? message.reason : 'nested envelope',
            };
          }
          return apply(message.event);
        }
      }
    },
  };
}
