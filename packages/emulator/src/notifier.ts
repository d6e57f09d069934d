/**
 * Subscription notifications: when a customer subscribes or unsubscribes through the control API, the emulator
 * sends what AWS Marketplace would, as a signed SNS notification or an EventBridge event, to a URL and/or its own
 * SQS-like queue. The SNS signing key is the emulator's own; its public half is served at
 * `GET /_emulator/sns-signing-key.pem` so a verifier can be pointed at it.
 */
import { createSign, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { EmulatorConfigurationError } from './errors.js';
import type { EventQueue } from './event-queue.js';
import type { SeededRandom } from './random.js';

/** The legacy SNS actions the emulator sends. */
export type NotificationAction =
  | 'subscribe-success'
  | 'subscribe-fail'
  | 'unsubscribe-pending'
  | 'unsubscribe-success'
  | 'entitlement-updated';

/** Where and how notifications go. Set at start or through `POST /_emulator/notifications`. */
export interface NotificationOptions {
  /** POST every notification here. @default none */
  url?: string;
  /** `sns`: a signed SNS envelope (as an HTTPS subscription gets it); `eventbridge`: the event (as an API destination). @default 'sns' */
  format?: 'sns' | 'eventbridge';
  /** For `eventbridge` posts: the header an API destination connection adds. @default none */
  secretHeader?: { name: string; value: string };
  /** Also put every notification into the emulator's queue (SQS JSON protocol). @default false */
  queue?: boolean;
}

/** One notification and what became of its POST. */
export interface NotificationView {
  readonly action: NotificationAction;
  readonly body: string;
  readonly format: 'sns' | 'eventbridge';
  readonly atMillis: number;
  /** HTTP status of the POST, `error` when it failed, `none` when no URL is set. */
  readonly delivery: number | 'error' | 'none' | 'pending';
}

/** The customer identifiers a notification carries. */
export interface NotifiedCustomer {
  readonly productCode?: string;
  readonly customerIdentifier?: string;
  readonly customerAWSAccountId?: string;
  readonly licenseArn?: string;
}

/** The URL notifications claim to be signed with. Verifiers are pointed at the emulator's key instead. */
export const EMULATOR_SIGNING_CERT_URL =
  'https://sns.us-east-1.amazonaws.com/SimpleNotificationService-meterkit-emulator.pem';

/** EventBridge has no event for a failed purchase: `subscribe-fail` always goes as SNS. */
const DETAIL_TYPE: Partial<Record<NotificationAction, string>> = {
  'subscribe-success': 'Purchase Agreement Created - Manufacturer',
  'unsubscribe-pending': 'Purchase Agreement Ended - Manufacturer',
  'unsubscribe-success': 'License Deprovisioned - Manufacturer',
  'entitlement-updated': 'License Updated - Manufacturer',
};

/** @internal */
export class Notifier {
  readonly #privateKey: KeyObject;
  /** PEM of the public key that verifies the emulator's SNS signatures. */
  readonly signingKeyPem: string;
  #options: NotificationOptions;
  readonly #initial: NotificationOptions;
  #sent: { view: NotificationView }[] = [];
  readonly #inFlight = new Set<Promise<void>>();

  constructor(
    options: NotificationOptions,
    private readonly queue: EventQueue,
    private readonly ids: SeededRandom,
  ) {
    const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.#privateKey = pair.privateKey;
    this.signingKeyPem = pair.publicKey.export({ type: 'spki', format: 'pem' }) as string;
    checkOptions(options);
    this.#initial = { ...options };
    this.#options = { ...options };
  }

  get options(): NotificationOptions {
    return { ...this.#options };
  }

  configure(options: NotificationOptions): NotificationOptions {
    checkOptions(options);
    this.#options = { ...options };
    return this.options;
  }

  reset(): void {
    this.#options = { ...this.#initial };
    this.#sent = [];
  }

  sent(): NotificationView[] {
    return this.#sent.map((entry) => entry.view);
  }

  /** Resolves once every POST started so far has finished. */
  async settled(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.all([...this.#inFlight]);
  }

  /** Sends one notification (no-op when neither a URL nor the queue is configured). */
  notify(action: NotificationAction, customer: NotifiedCustomer, nowMillis: number): void {
    const options = this.#options;
    if (options.url === undefined && options.queue !== true) return;
    // EventBridge events name a license; a legacy customer has none, so it is told over SNS as before. Nor is there an
    // EventBridge event for every action.
    const format =
      customer.licenseArn === undefined || DETAIL_TYPE[action] === undefined
        ? 'sns'
        : (options.format ?? 'sns');
    const body =
      format === 'sns'
        ? this.#snsBody(action, customer, nowMillis)
        : this.#eventBody(action, customer, nowMillis);
    const entry = {
      view: {
        action,
        body,
        format,
        atMillis: nowMillis,
        delivery: options.url === undefined ? 'none' : 'pending',
      } as NotificationView,
    };
    this.#sent.push(entry);
    if (options.queue === true) this.queue.send(body);
    if (options.url !== undefined) {
      const headers: Record<string, string> = {
        'content-type': format === 'sns' ? 'text/plain; charset=UTF-8' : 'application/json',
      };
      if (format === 'sns') headers['x-amz-sns-message-type'] = 'Notification';
      if (format === 'eventbridge' && options.secretHeader !== undefined) {
        headers[options.secretHeader.name] = options.secretHeader.value;
      }
      const delivery = fetch(options.url, { method: 'POST', headers, body })
        .then(async (response) => {
          await response.arrayBuffer();
          entry.view = { ...entry.view, delivery: response.status };
        })
        .catch(() => {
          entry.view = { ...entry.view, delivery: 'error' };
        })
        .finally(() => this.#inFlight.delete(delivery));
      this.#inFlight.add(delivery);
    }
  }

  #snsBody(action: NotificationAction, customer: NotifiedCustomer, nowMillis: number): string {
    const message: Record<string, string> = { action };
    if (customer.customerIdentifier !== undefined)
      message['customer-identifier'] = customer.customerIdentifier;
    if (customer.customerAWSAccountId !== undefined)
      message['customer-aws-account-id'] = customer.customerAWSAccountId;
    if (customer.licenseArn !== undefined) message['license-arn'] = customer.licenseArn;
    if (customer.productCode !== undefined) message['product-code'] = customer.productCode;
    if (action === 'subscribe-success') message.isFreeTrialTermPresent = 'false';
    const fields: [string, string][] = [
      ['Message', JSON.stringify(message)],
      ['MessageId', this.ids.uuid()],
      ['Timestamp', new Date(nowMillis).toISOString()],
      [
        'TopicArn',
        `arn:aws:sns:us-east-1:287250355862:aws-mp-subscription-notification-${customer.productCode ?? 'unknown'}`,
      ],
      ['Type', 'Notification'],
    ];
    // SNS signs `name\nvalue\n` for each field in this fixed order (Subject is left out: the emulator sends none).
    const signer = createSign('RSA-SHA256');
    signer.update(fields.map(([name, value]) => `${name}\n${value}\n`).join(''), 'utf8');
    const envelope: Record<string, string> = Object.fromEntries(fields);
    envelope.SignatureVersion = '2';
    envelope.Signature = signer.sign(this.#privateKey, 'base64');
    envelope.SigningCertURL = EMULATOR_SIGNING_CERT_URL;
    envelope.UnsubscribeURL = 'https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe';
    return JSON.stringify(envelope);
  }

  #eventBody(action: NotificationAction, customer: NotifiedCustomer, nowMillis: number): string {
    return JSON.stringify({
      version: '0',
      id: this.ids.uuid(),
      'detail-type': DETAIL_TYPE[action],
      source: 'aws.agreement-marketplace',
      account: '287250355862',
      time: new Date(nowMillis).toISOString(),
      region: 'us-east-1',
      resources: customer.licenseArn !== undefined ? [customer.licenseArn] : [],
      detail: {
        acceptor: { accountId: customer.customerAWSAccountId },
        product: { code: customer.productCode },
        license: { licenseArn: customer.licenseArn },
      },
    });
  }
}

function checkOptions(options: NotificationOptions): void {
  if (options.url !== undefined) {
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      throw new EmulatorConfigurationError(`notifications.url must be an http(s) URL, got '${options.url}'`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new EmulatorConfigurationError(`notifications.url must be an http(s) URL, got '${options.url}'`);
    }
  }
  if (options.format !== undefined && options.format !== 'sns' && options.format !== 'eventbridge') {
    throw new EmulatorConfigurationError(
      `notifications.format must be 'sns' or 'eventbridge', got '${String(options.format)}'`,
    );
  }
}
