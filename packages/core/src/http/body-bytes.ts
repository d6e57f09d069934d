/** Body bytes of an HTTP response, counted the same way for every adapter (Express, Nest on Express or Fastify). */
import type { ServerResponse } from 'node:http';

/** Marks a quantity function that needs the body counted while it is written (see {@link needsBodyBytes}). */
const NEEDS_BODY_BYTES = Symbol('meterkit.needsBodyBytes');

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
 * Counts the body bytes the app writes on this Node response from now on (before any compression added later in the
 * chain). Install it before the handler writes; only for meters whose quantity needs it. Idempotent.
 */
export function countBodyBytes(raw: ServerResponse): void {
  if (counts.has(raw)) return;
  counts.set(raw, { bytes: 0, write: raw.write, end: raw.end });
  raw.write = countingWrite as Write;
  raw.end = countingEnd as End;
}

interface HeaderSource {
  getHeader(name: string): unknown;
}

/**
 * The body size of a finished response in bytes, one rule for every adapter:
 * - `0` for a `HEAD` request and for `204`/`304` responses: no body is sent, whatever `Content-Length` says;
 * - the bytes counted by {@link countBodyBytes}, when it was installed (streamed responses included);
 * - else the `Content-Length` header (read from `headers` first when given: Fastify's reply keeps the headers it sent,
 *   Node's response forgets those passed straight to `writeHead()`);
 * - else `NaN` (a streamed response nobody counted): a record with it is refused with a `usage.rejected` event
 *   (`invalid-quantity`) rather than silently billed as zero.
 *
 * Only responses delivered in full are counted at all (see `watchFinish`), so this is also the number of bytes sent.
 */
export function bodyBytesOf(raw: ServerResponse, method: string | undefined, headers?: HeaderSource): number {
  if (method === 'HEAD') return 0;
  const status = raw.statusCode;
  if (status === 304 || status === 204) return 0;
  const counted = counts.get(raw);
  if (counted !== undefined) return counted.bytes;
  const header = headers?.getHeader('content-length') ?? raw.getHeader('content-length');
  const length = typeof header === 'string' ? Number(header) : header;
  return typeof length === 'number' && Number.isSafeInteger(length) && length >= 0 ? length : Number.NaN;
}

/** Marks `quantity` as needing the body counted; adapters install {@link countBodyBytes} for the routes using it. */
export function markNeedsBodyBytes<F extends object>(quantity: F): F {
  return Object.assign(quantity, { [NEEDS_BODY_BYTES]: true });
}

/** Whether `quantity` was made by {@link markNeedsBodyBytes}. */
export function needsBodyBytes(quantity: unknown): boolean {
  return typeof quantity === 'function' && NEEDS_BODY_BYTES in quantity;
}
