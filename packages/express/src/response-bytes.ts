import type { IncomingMessage, ServerResponse } from 'node:http';
import { MeteringConfigurationError } from '@meterkit/core';
import { messages } from './messages.js';

/** @internal Bytes of body written so far, on responses whose meter counts bytes. */
export const BYTES_WRITTEN = Symbol('meterkit.bytesWritten');
const ORIGINAL_WRITE = Symbol('meterkit.originalWrite');
const ORIGINAL_END = Symbol('meterkit.originalEnd');
/** @internal Marks a quantity function that needs the body counted (see {@link responseBytesIn}). */
export const NEEDS_BYTE_COUNT = Symbol('meterkit.needsByteCount');

type Write = ServerResponse['write'];
type End = ServerResponse['end'];
/** @internal A response carrying the byte counter. */
export interface CountedResponse extends ServerResponse {
  [BYTES_WRITTEN]?: number;
  [ORIGINAL_WRITE]?: Write;
  [ORIGINAL_END]?: End;
}

function sizeOf(chunk: unknown, encoding: unknown): number {
  if (typeof chunk === 'string')
    return Buffer.byteLength(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
  if (chunk instanceof Uint8Array) return chunk.byteLength;
  return 0;
}

// Shared functions reading their state from `this`: installing them allocates no closure per response.
function countingWrite(this: CountedResponse, ...args: Parameters<Write>): boolean {
  this[BYTES_WRITTEN] = (this[BYTES_WRITTEN] ?? 0) + sizeOf(args[0], args[1]);
  return (this[ORIGINAL_WRITE] as Write).apply(this, args);
}

function countingEnd(this: CountedResponse, ...args: unknown[]): ServerResponse {
  if (typeof args[0] !== 'function')
    this[BYTES_WRITTEN] = (this[BYTES_WRITTEN] ?? 0) + sizeOf(args[0], args[1]);
  return (this[ORIGINAL_END] as (...a: unknown[]) => ServerResponse).apply(this, args);
}

/**
 * @internal Counts the body bytes the app writes on this response from now on (before any compression added later in
 * the chain). Installed once per response, only by meters whose quantity needs it.
 */
export function countBodyBytes(res: CountedResponse): void {
  if (res[BYTES_WRITTEN] !== undefined) return;
  res[BYTES_WRITTEN] = 0;
  res[ORIGINAL_WRITE] = res.write;
  res[ORIGINAL_END] = res.end;
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
  const counted = (res as CountedResponse)[BYTES_WRITTEN];
  if (counted !== undefined) return counted;
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
