import type { IncomingMessage, ServerResponse } from 'node:http';
import { MeteringConfigurationError } from '@meterkit/core';
import { messages } from './messages.js';

/** @internal Marks a quantity function that needs the body counted (see {@link responseBytesIn}). */
export const NEEDS_BYTE_COUNT = Symbol('meterkit.needsByteCount');

type Write = ServerResponse['write'];
type End = ServerResponse['end'];

/** Body bytes written so far, and the methods the counters wrap, per counted response (kept off the response). */
interface ByteCount {
  bytes: number;
  readonly write: Write;
  readonly end: End;
}
const counts = new WeakMap<object, ByteCount>();

function sizeOf(chunk: unknown, encoding: unknown): number {
  if (typeof chunk === 'string') {
    return Buffer.byteLength(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
  }
  if (chunk instanceof Uint8Array) return chunk.byteLength;
  return 0;
}

// Shared functions reading their state from `this`: installing them allocates no closure per response.
function countingWrite(this: ServerResponse, ...args: Parameters<Write>): boolean {
  const count = counts.get(this) as ByteCount;
  count.bytes += sizeOf(args[0], args[1]);
  return count.write.apply(this, args);
}

function countingEnd(this: ServerResponse, ...args: unknown[]): ServerResponse {
  const count = counts.get(this) as ByteCount;
  if (typeof args[0] !== 'function') count.bytes += sizeOf(args[0], args[1]);
  return (count.end as (...a: unknown[]) => ServerResponse).apply(this, args);
}

/**
 * @internal Counts the body bytes the app writes on this response from now on (before any compression added later in
 * the chain). Installed once per response, only by meters whose quantity needs it.
 */
export function countBodyBytes(res: ServerResponse): void {
  if (counts.has(res)) return;
  counts.set(res, { bytes: 0, write: res.write, end: res.end });
  res.write = countingWrite as Write;
  res.end = countingEnd as End;
}

/**
 * The body size of a finished response in bytes: the bytes meterkit counted when the meter asked for it
 * ({@link responseBytesIn}, or `countBytes: true`), else the `Content-Length` header (Express sets it for
 * `res.send`/`res.json`/`res.sendFile`). `0` for `HEAD`. `NaN` when the size is unknown (a streamed response without
 * `Content-Length` and no counting): the record is then refused with a `usage.rejected` event (`invalid-quantity`)
 * rather than silently billed as zero.
 *
 * @example
 * ```ts
 * app.get('/download', meter({ dimension: 'egress_bytes', quantity: (req, res) => responseBytes(res), countBytes: true }), handler);
 * ```
 */
export function responseBytes(res: ServerResponse): number {
  const req = (res as ServerResponse<IncomingMessage>).req as IncomingMessage | undefined;
  if (req?.method === 'HEAD') return 0;
  const counted = counts.get(res);
  if (counted !== undefined) return counted.bytes;
  const header = res.getHeader('content-length');
  const length = typeof header === 'string' ? Number(header) : header;
  return typeof length === 'number' && Number.isSafeInteger(length) && length >= 0 ? length : Number.NaN;
}

/**
 * A `quantity` for `meter()`: the response body size in units of `unitBytes`, rounded up (a 1-byte response is 1 unit,
 * an empty one 0). The meter counts the body bytes itself, so streamed responses are measured too.
 *
 * @throws {MeteringConfigurationError} when `unitBytes` is not a positive integer.
 * @example
 * ```ts
 * app.get('/v1/export', meter({ dimension: 'export_kb', quantity: responseBytesIn(1024) }), handler);
 * ```
 */
export function responseBytesIn(unitBytes: number): (req: unknown, res: ServerResponse) => number {
  if (!Number.isSafeInteger(unitBytes) || unitBytes < 1) {
    throw new MeteringConfigurationError(
      'ERR_METERING_INVALID_OPTION',
      'responseBytesIn(unitBytes)',
      messages.invalidOption('responseBytesIn(unitBytes)', unitBytes, 'a positive integer number of bytes'),
    );
  }
  const quantity = (_req: unknown, res: ServerResponse) => Math.ceil(responseBytes(res) / unitBytes);
  return Object.assign(quantity, { [NEEDS_BYTE_COUNT]: true });
}
