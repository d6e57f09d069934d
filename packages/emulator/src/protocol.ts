/**
 * awsJson1_1 framing: `POST /` with `X-Amz-Target: AWSMPMeteringService.<Operation>`, JSON bodies of
 * type `application/x-amz-json-1.1`, errors as `{"__type", "message"}` plus `x-amzn-ErrorType`, and
 * a request id in `x-amzn-RequestId` on every answer.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ServiceError } from './errors.js';
import { OPERATION_NAMES, type OperationName } from './options.js';

/** Target prefix of the service (`X-Amz-Target: AWSMPMeteringService.BatchMeterUsage`). */
export const TARGET_PREFIX = 'AWSMPMeteringService';

/** Content type of requests and answers. */
export const CONTENT_TYPE = 'application/x-amz-json-1.1';

/** Requests must be smaller than 1 MB (1,048,576 bytes); this many bytes or more are refused. */
export const MAX_BODY_BYTES = 1_048_576;

/** A request body, read to the end even when too large (so the answer can still be written). */
export interface ReadBody {
  readonly body: Buffer;
  readonly tooLarge: boolean;
}

/** Reads the body, keeping at most {@link MAX_BODY_BYTES}. */
export function readBody(req: IncomingMessage, limit: number = MAX_BODY_BYTES): Promise<ReadBody> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size < limit) chunks.push(chunk);
    });
    req.on('end', () =>
      resolve({ body: size < limit ? Buffer.concat(chunks) : Buffer.alloc(0), tooLarge: size >= limit }),
    );
    req.on('error', reject);
  });
}

/**
 * The operation named by the `X-Amz-Target` header.
 *
 * @throws {ServiceError} `UnknownOperationException`.
 */
export function operationFromTarget(target: string | string[] | undefined): OperationName {
  const value = Array.isArray(target) ? target[0] : target;
  const [prefix, name] = (value ?? '').split('.');
  if (prefix === TARGET_PREFIX && OPERATION_NAMES.includes(name as OperationName))
    return name as OperationName;
  throw new ServiceError(
    'UnknownOperationException',
    `Unknown operation ${value ?? '(no X-Amz-Target header)'}`,
  );
}

/**
 * Parses a JSON request body; an empty body counts as `{}`.
 *
 * @throws {ServiceError} `SerializationException`.
 */
export function parseJsonBody(body: Buffer): unknown {
  const text = body.toString('utf8');
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new ServiceError('SerializationException', 'The request body is not valid JSON');
  }
}

/** Writes a successful answer. */
export function sendResult(res: ServerResponse, requestId: string, result: unknown): void {
  send(res, 200, requestId, result, undefined);
}

/** Writes an error answer. */
export function sendError(res: ServerResponse, requestId: string, error: ServiceError): void {
  send(res, error.statusCode, requestId, { __type: error.type, message: error.message }, error.type);
}

function send(
  res: ServerResponse,
  status: number,
  requestId: string,
  body: unknown,
  errorType: string | undefined,
): void {
  const payload = Buffer.from(JSON.stringify(body), 'utf8');
  const headers: Record<string, string | number> = {
    'content-type': CONTENT_TYPE,
    'content-length': payload.length,
    'x-amzn-requestid': requestId,
  };
  if (errorType) headers['x-amzn-errortype'] = errorType;
  res.writeHead(status, headers);
  res.end(payload);
}

/** Epoch milliseconds to awsJson epoch seconds. */
export function toEpochSeconds(millis: number): number {
  return millis / 1000;
}

/** awsJson epoch seconds (fractional allowed) to epoch milliseconds. */
export function fromEpochSeconds(seconds: number): number {
  return Math.round(seconds * 1000);
}
