/** `responseBytes()` and `responseBytesIn()`: byte quantities for `meter()`, on core's one byte-counting rule. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MeteringConfigurationError } from '@meterkit/core';
import { bodyBytesOf, markNeedsBodyBytes } from '@meterkit/core/http';
import { messages } from './messages.js';

/**
 * The body size of a finished response in bytes: the bytes meterkit counted when the meter asked for it
 * ({@link responseBytesIn}, or `countBytes: true`), else the `Content-Length` header (Express sets it for
 * `res.send`/`res.json`/`res.sendFile`). `0` for `HEAD` and for 204/304 responses (no body is sent). `NaN` when the size is unknown (a streamed response without
 * `Content-Length` and no counting): the record is then refused with a `usage.rejected` event (`invalid-quantity`)
 * rather than silently billed as zero.
 *
 * @example
 * ```ts
 * app.get('/download', meter({ dimension: 'egress_bytes', quantity: (req, res) => responseBytes(res), countBytes: true }), handler);
 * ```
 */
export function responseBytes(res: ServerResponse): number {
  return bodyBytesOf(
    res,
    ((res as ServerResponse<IncomingMessage>).req as IncomingMessage | undefined)?.method,
  );
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
  return markNeedsBodyBytes(quantity);
}
