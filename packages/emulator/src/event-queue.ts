/**
 * One SQS-like queue holding the emulator's subscription notifications, served over enough of the SQS JSON protocol
 * (`X-Amz-Target: AmazonSQS.<Action>`, awsJson1_0) for `@aws-sdk/client-sqs`: SendMessage, ReceiveMessage (with
 * visibility timeout and long polling), DeleteMessage, GetQueueUrl and PurgeQueue.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EmulatorClock } from './clock.js';
import { readBody } from './protocol.js';
import type { SeededRandom } from './random.js';

/** The queue's name; its URL is `<endpoint>/000000000000/<name>`. */
export const EVENT_QUEUE_NAME = 'marketplace-events';
export const SQS_TARGET_PREFIX = 'AmazonSQS.';

interface QueuedMessage {
  readonly id: string;
  readonly body: string;
  readonly md5: string;
  receipt: string | undefined;
  visibleAtMillis: number;
  receiveCount: number;
}

class SqsError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

/** @internal */
export class EventQueue {
  #messages: QueuedMessage[] = [];
  readonly #waiters = new Set<() => void>();

  constructor(
    private readonly clock: EmulatorClock,
    private readonly ids: SeededRandom,
  ) {}

  /** Messages not yet deleted (visible or in flight). */
  get depth(): number {
    return this.#messages.length;
  }

  send(body: string): string {
    const id = this.ids.uuid();
    this.#messages.push({
      id,
      body,
      md5: createHash('md5').update(body, 'utf8').digest('hex'),
      receipt: undefined,
      visibleAtMillis: 0,
      receiveCount: 0,
    });
    for (const wake of this.#waiters) wake();
    return id;
  }

  clear(): void {
    this.#messages = [];
  }

  /** Serves one SQS JSON request. */
  async handle(req: IncomingMessage, res: ServerResponse, endpoint: string): Promise<void> {
    const target = String(req.headers['x-amz-target'] ?? '');
    const action = target.slice(SQS_TARGET_PREFIX.length);
    try {
      const { body } = await readBody(req);
      const input = (body.length > 0 ? JSON.parse(body.toString('utf8')) : {}) as Record<string, unknown>;
      const queueUrl = `${endpoint}/000000000000/${EVENT_QUEUE_NAME}`;
      if (
        action !== 'GetQueueUrl' &&
        typeof input.QueueUrl === 'string' &&
        !input.QueueUrl.endsWith(`/${EVENT_QUEUE_NAME}`)
      ) {
        throw new SqsError('com.amazonaws.sqs#QueueDoesNotExist', 'The specified queue does not exist.');
      }
      switch (action) {
        case 'GetQueueUrl':
          if (input.QueueName !== EVENT_QUEUE_NAME) {
            throw new SqsError('com.amazonaws.sqs#QueueDoesNotExist', 'The specified queue does not exist.');
          }
          return reply(res, 200, { QueueUrl: queueUrl });
        case 'SendMessage': {
          if (typeof input.MessageBody !== 'string' || input.MessageBody === '') {
            throw new SqsError('com.amazonaws.sqs#MissingParameter', 'MessageBody is required.');
          }
          const id = this.send(input.MessageBody);
          const md5 = createHash('md5').update(input.MessageBody, 'utf8').digest('hex');
          return reply(res, 200, { MessageId: id, MD5OfMessageBody: md5 });
        }
        case 'ReceiveMessage':
          return reply(res, 200, await this.#receive(input));
        case 'DeleteMessage': {
          const index = this.#messages.findIndex(
            (m) => m.receipt !== undefined && m.receipt === input.ReceiptHandle,
          );
          if (index < 0) {
            throw new SqsError(
              'com.amazonaws.sqs#ReceiptHandleIsInvalid',
              'The receipt handle is not valid.',
            );
          }
          this.#messages.splice(index, 1);
          return reply(res, 200, {});
        }
        case 'PurgeQueue':
          this.clear();
          return reply(res, 200, {});
        default:
          throw new SqsError(
            'com.amazonaws.sqs#UnsupportedOperation',
            `The emulator does not serve ${action}.`,
          );
      }
    } catch (error) {
      const type = error instanceof SqsError ? error.type : 'com.amazonaws.sqs#InvalidParameterValue';
      reply(res, 400, { __type: type, message: (error as Error).message });
    }
  }

  async #receive(input: Record<string, unknown>): Promise<unknown> {
    const max = Math.min(10, Math.max(1, Number(input.MaxNumberOfMessages ?? 1)));
    const visibilityMillis = Number(input.VisibilityTimeout ?? 30) * 1000;
    const waitMillis = Math.min(20, Math.max(0, Number(input.WaitTimeSeconds ?? 0))) * 1000;
    let taken = this.#take(max, visibilityMillis);
    if (taken.length === 0 && waitMillis > 0) {
      // Long polling: answer as soon as a message arrives, or empty after the wait (real time: a client is waiting).
      await new Promise<void>((resolve) => {
        const finish = () => {
          clearTimeout(timer);
          this.#waiters.delete(finish);
          resolve();
        };
        const timer = setTimeout(finish, waitMillis);
        // A waiting poll must not keep a test process alive after the emulator closed.
        timer.unref();
        this.#waiters.add(finish);
      });
      taken = this.#take(max, visibilityMillis);
    }
    return {
      Messages: taken.map((m) => ({
        MessageId: m.id,
        ReceiptHandle: m.receipt,
        MD5OfBody: m.md5,
        Body: m.body,
        Attributes: { ApproximateReceiveCount: String(m.receiveCount) },
      })),
    };
  }

  #take(max: number, visibilityMillis: number): QueuedMessage[] {
    const now = this.clock.now();
    const taken: QueuedMessage[] = [];
    for (const message of this.#messages) {
      if (taken.length >= max) break;
      if (message.visibleAtMillis > now) continue;
      message.receipt = this.ids.hex(40);
      message.visibleAtMillis = now + visibilityMillis;
      message.receiveCount += 1;
      taken.push(message);
    }
    return taken;
  }
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  const payload = Buffer.from(JSON.stringify(body), 'utf8');
  res.writeHead(status, {
    'content-type': 'application/x-amz-json-1.0',
    'content-length': payload.length,
    'x-amzn-requestid': createHash('md5').update(payload).digest('hex'),
  });
  res.end(payload);
}
