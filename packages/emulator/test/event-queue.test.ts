// The emulator's SQS-like queue of subscription notifications, read with @aws-sdk/client-sqs as a seller would.
import {
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it } from 'vitest';
import type { Emulator } from '../src/index.js';
import { CREDENTIALS, HOUR, start } from './helpers.js';

const products = [{ productCode: 'prod-a', dimensions: ['requests'] }];

function sqs(emulator: Emulator): SQSClient {
  return new SQSClient({
    endpoint: emulator.endpoint,
    region: 'us-east-1',
    credentials: CREDENTIALS,
    maxAttempts: 1,
  });
}

describe('notification queue', () => {
  let emulator: Emulator;
  afterEach(async () => {
    await emulator?.close();
  });

  it('queues notifications for @aws-sdk/client-sqs and removes a message only when deleted', async () => {
    emulator = await start({ products, notifications: { queue: true } });
    const client = sqs(emulator);
    emulator.control.putCustomer({ productCode: 'prod-a', customerIdentifier: 'cust-1' });
    const first = await client.send(
      new ReceiveMessageCommand({
        QueueUrl: emulator.queueUrl,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: 30,
      }),
    );
    expect(first.Messages).toHaveLength(1);
    expect(JSON.parse(JSON.parse(first.Messages![0]!.Body!).Message).action).toBe('subscribe-success');
    // Invisible while in flight, back after the visibility timeout when not deleted.
    expect(
      (await client.send(new ReceiveMessageCommand({ QueueUrl: emulator.queueUrl }))).Messages ?? [],
    ).toEqual([]);
    emulator.control.clock.advance(31_000);
    const again = await client.send(new ReceiveMessageCommand({ QueueUrl: emulator.queueUrl }));
    expect(again.Messages?.[0]?.MessageId).toBe(first.Messages![0]!.MessageId);
    await client.send(
      new DeleteMessageCommand({
        QueueUrl: emulator.queueUrl,
        ReceiptHandle: again.Messages![0]!.ReceiptHandle,
      }),
    );
    emulator.control.clock.advance(HOUR);
    expect(
      (await client.send(new ReceiveMessageCommand({ QueueUrl: emulator.queueUrl }))).Messages ?? [],
    ).toEqual([]);
  });

  it('answers a long poll as soon as a message arrives', async () => {
    emulator = await start({ products, notifications: { queue: true } });
    const client = sqs(emulator);
    const polling = client.send(
      new ReceiveMessageCommand({ QueueUrl: emulator.queueUrl, WaitTimeSeconds: 20 }),
    );
    await client.send(new SendMessageCommand({ QueueUrl: emulator.queueUrl, MessageBody: '{"hello":1}' }));
    expect((await polling).Messages?.map((m) => m.Body)).toEqual(['{"hello":1}']);
  });
});
