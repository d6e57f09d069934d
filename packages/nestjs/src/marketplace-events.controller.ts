/** A Nest controller for AWS Marketplace subscription events: SNS HTTPS subscriptions and EventBridge API destinations. */
import type { IncomingMessage } from 'node:http';
import {
  answerMarketplaceEventRequest,
  assertEndpointOptions,
  MAX_EVENT_BODY_BYTES,
  type MarketplaceEventHandler,
} from '@meterkit/aws-marketplace';
import { MeteringEngine } from '@meterkit/core';
import { Controller, Inject, Post, Req, Res, type Type } from '@nestjs/common';

export interface MarketplaceEventsControllerOptions {
  /** Route path. @default 'marketplace/events' */
  readonly path?: string;
  /** Builds the handler from the module's engine, e.g. `(engine) => createMarketplaceEventHandler({ engine, registry })`. */
  readonly handler: (engine: MeteringEngine) => MarketplaceEventHandler;
  /** The header an EventBridge API destination's connection adds, and its value. */
  readonly eventBridgeSecret?: { readonly header: string; readonly value: string };
}

/** What Express (`req`) and Fastify (`request`, with `raw`) hand a controller. */
interface AnyRequest {
  readonly headers: IncomingMessage['headers'];
  readonly body?: unknown;
  readonly raw?: IncomingMessage;
  readonly readableEnded?: boolean;
}

/** What Express (`res`) and Fastify (`reply`) both offer. */
interface AnyReply {
  status(code: number): AnyReply;
  send(body: unknown): unknown;
}

function readRawBody(stream: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_EVENT_BODY_BYTES) chunks.push(chunk);
    });
    stream.on('end', () => resolve(size <= MAX_EVENT_BODY_BYTES ? Buffer.concat(chunks) : undefined));
    stream.on('error', reject);
  });
}

/**
 * Creates a controller class that receives subscription events and passes them to the handler. Add it to a module's
 * `controllers` next to `MeteringModule`. Answers as Express's `marketplaceEvents()` does (200, 400, 403, 413, 500).
 * @throws {MeteringConfigurationError} for an unusable `eventBridgeSecret` (when the class is created, at start-up).
 * @example
 * ```ts
 * @Module({
 *   imports: [MeteringModule.forRoot({ ... })],
 *   controllers: [marketplaceEventsController({ handler: (engine) => createMarketplaceEventHandler({ engine }) })],
 * })
 * export class AppModule {}
 * ```
 */
export function marketplaceEventsController(options: MarketplaceEventsControllerOptions): Type<unknown> {
  assertEndpointOptions(options);

  @Controller(options.path ?? 'marketplace/events')
  class MarketplaceEventsController {
    readonly handler: MarketplaceEventHandler;

    constructor(@Inject(MeteringEngine) engine: MeteringEngine) {
      this.handler = options.handler(engine);
    }

    @Post()
    async receive(@Req() req: AnyRequest, @Res() reply: AnyReply): Promise<void> {
      let body: Buffer | string;
      const parsed = req.body;
      if (Buffer.isBuffer(parsed) || typeof parsed === 'string') body = parsed;
      else if (
        parsed !== undefined &&
        parsed !== null &&
        (req.raw?.readableEnded ?? req.readableEnded) === true
      ) {
        body = JSON.stringify(parsed);
      } else {
        const raw = await readRawBody(req.raw ?? (req as unknown as IncomingMessage));
        if (raw === undefined) {
          reply.status(413).send({ status: 'invalid', reason: 'the body is larger than 256 KB' });
          return;
        }
        body = raw;
      }
      const answer = await answerMarketplaceEventRequest(
        {
          handler: this.handler,
          ...(options.eventBridgeSecret && { eventBridgeSecret: options.eventBridgeSecret }),
        },
        { headers: req.headers, body },
      );
      reply.status(answer.status).send(answer.body);
    }
  }
  return MarketplaceEventsController;
}
