/** Polls an SQS queue of AWS Marketplace subscription events and deletes each message only once it is handled. */
import {
  DeleteMessageCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { type MeteringLogger, silentLogger } from '@meterkit/core';
import type { MarketplaceEventHandler } from '../marketplace-event-handler.js';

export interface MarketplaceEventPollerOptions {
  /** The handler from `createMarketplaceEventHandler()`. */
  readonly handler: MarketplaceEventHandler;
  readonly client: SQSClient;
  readonly queueUrl: string;
  /** Long-poll wait per receive, 0–20 s. @default 20 */
  readonly waitTimeSeconds?: number;
  /** How long a received message stays invisible to other consumers while it is handled. @default 60 */
  readonly visibilityTimeoutSeconds?: number;
  /** Messages per receive, 1–10. @default 10 */
  readonly maxMessages?: number;
  /** Pause after a failed receive, before the next. @default 5000 */
  readonly errorBackoffMillis?: number;
  readonly logger?: MeteringLogger;
}

/** What one poll did. */
export interface PollReport {
  readonly received: number;
  /** Handled (applied, confirmed or ignored) and deleted. */
  readonly deleted: number;
  /** Left in the queue: it comes back after the visibility timeout, and goes to the dead-letter queue in the end. */
  readonly kept: number;
}

export interface MarketplaceEventPoller {
  /** Receives once and handles what came. Never rejects for a bad message; rejects when the receive itself fails. */
  pollOnce(): Promise<PollReport>;
  /** Polls in a loop until {@link stop}. */
  start(): void;
  /** Stops the loop and waits for the poll in flight (its messages are handled and deleted first). */
  stop(): Promise<void>;
}

/**
 * The queue is trusted: only AWS (an SNS subscription or an EventBridge rule) writes to it, as its policy says, so
 * unsigned EventBridge events and raw SNS messages are accepted; SNS envelopes are still verified. A message that
 * fails (the registry or engine threw) or that cannot be read stays in the queue: give the queue a redrive policy
 * so such messages end in a dead-letter queue, never lost.
 * @example
 * ```ts
 * const poller = createMarketplaceEventPoller({ handler, client: new SQSClient({}), queueUrl });
 * poller.start();
 * ```
 */
export function createMarketplaceEventPoller(options: MarketplaceEventPollerOptions): MarketplaceEventPoller {
  const logger = options.logger ?? silentLogger;
  let running = false;
  let loop: Promise<void> | undefined;
  /** Aborts a receive that is long-polling when the poller stops (nothing was received yet, so nothing is lost). */
  let receiving: AbortController | undefined;

  async function handleOne(message: Message): Promise<boolean> {
    try {
      const outcome = await options.handler.handleMarketplaceEvent(message.Body ?? '', { trusted: true });
      if (outcome.status === 'invalid' || outcome.status === 'unverified') {
        logger.warn(`an SQS message was not handled (${outcome.status}); it stays in the queue`, {
          messageId: message.MessageId,
          reason: outcome.reason,
        });
        return false;
      }
    } catch (error) {
      logger.error('handling an SQS message failed; it will be received again', {
        messageId: message.MessageId,
        error: error instanceof Error ? error.message : String(error),
      });
      return false;
    }
    await options.client.send(
      new DeleteMessageCommand({ QueueUrl: options.queueUrl, ReceiptHandle: message.ReceiptHandle }),
    );
    return true;
  }

  async function pollOnce(): Promise<PollReport> {
    receiving = new AbortController();
    const answer = await options.client
      .send(
        new ReceiveMessageCommand({
          QueueUrl: options.queueUrl,
          MaxNumberOfMessages: options.maxMessages ?? 10,
          WaitTimeSeconds: options.waitTimeSeconds ?? 20,
          VisibilityTimeout: options.visibilityTimeoutSeconds ?? 60,
        }),
        { abortSignal: receiving.signal },
      )
      .finally(() => {
        receiving = undefined;
      });
    const messages = answer.Messages ?? [];
    let deleted = 0;
    // One at a time, in the order received: a subscribe-success must be applied before the unsubscribe after it.
    for (const message of messages) if (await handleOne(message)) deleted += 1;
    return { received: messages.length, deleted, kept: messages.length - deleted };
  }

  return {
    pollOnce,
    start() {
      if (running) return;
      running = true;
      loop = (async () => {
        while (running) {
          try {
            await pollOnce();
          } catch (error) {
            if (!running) break;
            logger.error('receiving from SQS failed; retrying', {
              error: error instanceof Error ? error.message : String(error),
            });
            await new Promise((resolve) => setTimeout(resolve, options.errorBackoffMillis ?? 5_000).unref());
          }
        }
      })();
    },
    async stop() {
      running = false;
      receiving?.abort();
      await loop;
    },
  };
}
