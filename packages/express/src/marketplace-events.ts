/** Express route for AWS Marketplace subscription events: SNS HTTPS subscriptions and EventBridge API destinations. */
import {
  answerMarketplaceEventRequest,
  assertEndpointOptions,
  MAX_EVENT_BODY_BYTES,
  type MarketplaceEventEndpointOptions,
} from '@meterkit/aws-marketplace';
import type { Request, RequestHandler } from 'express';

/** Reads the raw body (SNS posts `text/plain`, which body parsers leave alone), up to the SNS maximum. */
function readRawBody(req: Request): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_EVENT_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => resolve(size <= MAX_EVENT_BODY_BYTES ? Buffer.concat(chunks) : undefined));
    req.on('error', reject);
  });
}

/**
 * A POST handler that receives AWS Marketplace subscription events and hands them to
 * `createMarketplaceEventHandler()`'s handler. Answers 200 when handled (or confirmed, or ignored), 400 for a body it
 * cannot read, 403 for an unsigned or badly signed one, 413 above 256 KB, and 500 when the registry or engine failed
 * (AWS then delivers the event again).
 * @throws {MeteringConfigurationError} for an unusable `eventBridgeSecret`.
 * @example
 * ```ts
 * app.post('/marketplace/events', marketplaceEvents({ handler, eventBridgeSecret: { header: 'x-api-key', value } }));
 * ```
 */
export function marketplaceEvents(options: MarketplaceEventEndpointOptions): RequestHandler {
  assertEndpointOptions(options);
  return (req, res, next) => {
    void (async () => {
      // A body parser that ran before (express.json for EventBridge's application/json) already consumed the stream.
      const parsed: unknown = req.body;
      let body: Buffer | string;
      if (Buffer.isBuffer(parsed) || typeof parsed === 'string') body = parsed;
      else if (parsed !== undefined && req.readableEnded) body = JSON.stringify(parsed);
      else {
        const raw = await readRawBody(req);
        if (raw === undefined) {
          res.status(413).json({ status: 'invalid', reason: 'the body is larger than 256 KB' });
          return;
        }
        body = raw;
      }
      const answer = await answerMarketplaceEventRequest(options, { headers: req.headers, body });
      res.status(answer.status).json(answer.body);
    })().catch(next);
  };
}
