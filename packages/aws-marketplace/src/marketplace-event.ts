/**
 * Reads AWS Marketplace subscription events, in every shape a seller receives them: an SNS envelope (HTTPS
 * subscription, or SQS without raw delivery), a bare SNS message (SQS with raw delivery), or an EventBridge event.
 * Strict about what it needs, tolerant of fields it does not know.
 */
import type { CustomerRef } from '@meterkit/core';
import type { SnsEnvelope } from './sns-signature.js';

/** The legacy SNS actions; EventBridge events are mapped onto the same five. */
export type MarketplaceAction =
  | 'subscribe-success'
  | 'subscribe-fail'
  | 'unsubscribe-pending'
  | 'unsubscribe-success'
  | 'entitlement-updated';

const ACTIONS: readonly MarketplaceAction[] = [
  'subscribe-success',
  'subscribe-fail',
  'unsubscribe-pending',
  'unsubscribe-success',
  'entitlement-updated',
];

/** One subscription event, whatever channel carried it. */
export interface MarketplaceEvent {
  readonly action: MarketplaceAction;
  readonly customer: CustomerRef;
  /** Set for SNS messages and for EventBridge events that carry it. */
  readonly productCode: string | undefined;
  /** `isFreeTrialTermPresent` (a string in SNS messages), when the message says. */
  readonly freeTrial: boolean | undefined;
  readonly offerIdentifier: string | undefined;
  readonly channel: 'sns' | 'eventbridge';
  /** The SNS MessageId or EventBridge event id. */
  readonly id: string;
  /** When AWS sent it (SNS `Timestamp`, EventBridge `time`), epoch ms; orders events that arrive out of order. */
  readonly time: number | undefined;
  /** EventBridge `detail-type`, for operators. */
  readonly detailType?: string;
}

/** What a document turned out to be. Expected outcomes are values: a bad document is `invalid`, never thrown. */
export type ParsedMarketplaceDocument =
  | { readonly kind: 'sns-envelope'; readonly envelope: SnsEnvelope }
  | { readonly kind: 'event'; readonly event: MarketplaceEvent }
  | { readonly kind: 'ignored'; readonly reason: string }
  | { readonly kind: 'invalid'; readonly reason: string };

/** EventBridge sources that carry Marketplace subscription events. */
const EVENTBRIDGE_SOURCES = new Set([
  'aws.marketplace',
  'aws.agreement-marketplace',
  'aws.marketplacecatalog',
]);

/**
 * How meterkit maps EventBridge detail types onto the lifecycle. An agreement that ends leaves the seller the same
 * window for final records as `unsubscribe-pending`; a deprovisioned license is `unsubscribe-success`.
 */
const DETAIL_TYPES: readonly [RegExp, MarketplaceAction][] = [
  [/^Purchase Agreement Created\b/, 'subscribe-success'],
  [/^Purchase Agreement Amended\b/, 'entitlement-updated'],
  [/^Purchase Agreement Ended\b/, 'unsubscribe-pending'],
  [/^License Updated\b/, 'entitlement-updated'],
  [/^License Deprovisioned\b/, 'unsubscribe-success'],
];

const ACCOUNT_ID = /^[0-9]{12}$/;
const LICENSE_ARN = /^arn:aws(-[a-z]+)*:license-manager:/;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/** Parses a JSON string or an already-parsed value. */
export function parseMarketplaceDocument(input: unknown): ParsedMarketplaceDocument {
  let doc = input;
  if (typeof input === 'string' || input instanceof Uint8Array) {
    try {
      doc = JSON.parse(typeof input === 'string' ? input : Buffer.from(input).toString('utf8'));
    } catch {
      return { kind: 'invalid', reason: 'the body is not JSON' };
    }
  }
  if (!isObject(doc)) return { kind: 'invalid', reason: 'the body is not a JSON object' };
  if (typeof doc.Type === 'string' && 'Signature' in doc) return readEnvelope(doc);
  if ('detail-type' in doc) return readEventBridge(doc);
  if ('action' in doc) return readSnsMessage(doc, text(doc['message-id']) ?? '', undefined);
  return { kind: 'invalid', reason: 'neither an SNS message nor an EventBridge event' };
}

/** Reads the `Message` of a verified SNS notification. */
export function parseSnsMessage(
  message: string,
  messageId: string,
  timestamp?: string,
): ParsedMarketplaceDocument {
  let doc: unknown;
  try {
    doc = JSON.parse(message);
  } catch {
    return { kind: 'invalid', reason: 'the SNS Message is not JSON' };
  }
  if (!isObject(doc)) return { kind: 'invalid', reason: 'the SNS Message is not a JSON object' };
  return readSnsMessage(doc, messageId, timeOf(timestamp));
}

function timeOf(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const millis = Date.parse(value);
  return Number.isFinite(millis) ? millis : undefined;
}

function readEnvelope(doc: Record<string, unknown>): ParsedMarketplaceDocument {
  const type = doc.Type;
  if (type !== 'Notification' && type !== 'SubscriptionConfirmation' && type !== 'UnsubscribeConfirmation') {
    return { kind: 'invalid', reason: `unknown SNS message Type ${JSON.stringify(type)}` };
  }
  for (const field of [
    'MessageId',
    'TopicArn',
    'Message',
    'Timestamp',
    'SignatureVersion',
    'Signature',
    'SigningCertURL',
  ]) {
    if (typeof doc[field] !== 'string') return { kind: 'invalid', reason: `the SNS message has no ${field}` };
  }
  if (type !== 'Notification' && (typeof doc.SubscribeURL !== 'string' || typeof doc.Token !== 'string')) {
    return { kind: 'invalid', reason: `an SNS ${type} needs SubscribeURL and Token` };
  }
  if (doc.Subject !== undefined && typeof doc.Subject !== 'string') {
    return { kind: 'invalid', reason: 'the SNS Subject is not a string' };
  }
  return { kind: 'sns-envelope', envelope: doc as unknown as SnsEnvelope };
}

function readSnsMessage(
  doc: Record<string, unknown>,
  messageId: string,
  time: number | undefined,
): ParsedMarketplaceDocument {
  const action = doc.action;
  if (!ACTIONS.includes(action as MarketplaceAction)) {
    return { kind: 'ignored', reason: `unknown action ${JSON.stringify(action)}` };
  }
  const productCode = text(doc['product-code']);
  if (productCode === undefined) return { kind: 'invalid', reason: 'the message has no product-code' };
  // AWS sends the flag as the string "true" or "false"; anything else is a message we do not understand.
  const trial = doc.isFreeTrialTermPresent;
  if (trial !== undefined && trial !== 'true' && trial !== 'false') {
    return { kind: 'invalid', reason: 'isFreeTrialTermPresent must be the string "true" or "false"' };
  }
  const account = text(doc['customer-aws-account-id']);
  const licenseArn = text(doc['license-arn']) ?? text(doc.licenseArn);
  let customer: CustomerRef;
  if (licenseArn !== undefined) {
    if (account === undefined || !ACCOUNT_ID.test(account) || !LICENSE_ARN.test(licenseArn)) {
      return {
        kind: 'invalid',
        reason: 'a license needs customer-aws-account-id (12 digits) and a license ARN',
      };
    }
    customer = { awsAccountId: account, licenseArn, productCode };
  } else {
    const identifier = text(doc['customer-identifier']);
    if (identifier === undefined)
      return { kind: 'invalid', reason: 'the message has no customer-identifier' };
    customer = { customerIdentifier: identifier, productCode };
  }
  return {
    kind: 'event',
    event: {
      action: action as MarketplaceAction,
      customer,
      productCode,
      freeTrial: trial === undefined ? undefined : trial === 'true',
      offerIdentifier: text(doc['offer-identifier']),
      channel: 'sns',
      id: messageId,
      time,
    },
  };
}

function readEventBridge(doc: Record<string, unknown>): ParsedMarketplaceDocument {
  const detailType = doc['detail-type'];
  const source = doc.source;
  if (typeof detailType !== 'string' || typeof source !== 'string') {
    return { kind: 'invalid', reason: 'an EventBridge event needs source and detail-type' };
  }
  if (!EVENTBRIDGE_SOURCES.has(source))
    return { kind: 'ignored', reason: `source ${source} is not AWS Marketplace` };
  const action = DETAIL_TYPES.find(([pattern]) => pattern.test(detailType))?.[1];
  if (action === undefined)
    return { kind: 'ignored', reason: `detail-type ${detailType} is not a subscription event` };
  const detail = doc.detail;
  if (!isObject(detail)) return { kind: 'invalid', reason: 'the event has no detail object' };
  const license = isObject(detail.license) ? detail.license : {};
  const acceptor = isObject(detail.acceptor) ? detail.acceptor : {};
  const product = isObject(detail.product) ? detail.product : {};
  const licenseArn = text(license.licenseArn) ?? text(license.arn) ?? text(detail.licenseArn);
  const account = text(acceptor.accountId) ?? text(detail.customerAWSAccountId);
  if (licenseArn === undefined || !LICENSE_ARN.test(licenseArn)) {
    return { kind: 'invalid', reason: 'the event names no license ARN' };
  }
  if (account === undefined || !ACCOUNT_ID.test(account)) {
    return { kind: 'invalid', reason: 'the event names no buyer account (12 digits)' };
  }
  const productCode = text(product.code) ?? text(product.productCode) ?? text(detail.productCode);
  const trial = detail.isFreeTrialTermPresent;
  return {
    kind: 'event',
    event: {
      action,
      customer: { awsAccountId: account, licenseArn, ...(productCode !== undefined && { productCode }) },
      productCode,
      freeTrial:
        trial === 'true' || trial === true ? true : trial === 'false' || trial === false ? false : undefined,
      offerIdentifier: text(isObject(detail.offer) ? detail.offer.id : undefined),
      channel: 'eventbridge',
      id: text(doc.id) ?? '',
      time: timeOf(doc.time),
      detailType,
    },
  };
}
