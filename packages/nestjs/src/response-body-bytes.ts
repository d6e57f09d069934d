/** Byte quantities for `@Meter()`, on core's one byte-counting rule (the same as the Express adapter's). */
import type { ServerResponse } from 'node:http';
import { MeteringConfigurationError } from '@meterkit/core';
import { bodyBytesOf, markNeedsBodyBytes } from '@meterkit/core/http';
import type { ExecutionContext } from '@nestjs/common';
import { messages } from './metering.messages.js';

interface HeaderSource {
  getHeader(name: string): unknown;
}

/**
 * The size of the response body in bytes, on Express and Fastify alike: `0` for `HEAD` and for 204/304 responses (no
 * body is sent); the bytes counted as they were written when the route counts them (`countBytes: true`, or a
 * {@link responseBytesIn} quantity), streamed responses included; else the `Content-Length` header; else undefined
 * (a streamed response nobody counted). Use it in a `@Meter()` quantity, which runs once the response was delivered:
 *
 * @example
 * ```ts
 * @Meter({ dimension: 'egress_bytes', quantity: (ctx) => responseBodyBytes(ctx) ?? 0, countBytes: true })
 * ```
 */
export function responseBodyBytes(context: ExecutionContext): number | undefined {
  const reply = context.getArgByIndex(1) as HeaderSource & { raw?: ServerResponse };
  const request = context.getArgByIndex(0) as { method?: string } | undefined;
  // Fastify's reply keeps the headers it sent; Node's response forgets those passed straight to writeHead().
  const raw = reply.raw ?? (reply as unknown as ServerResponse);
  const bytes = bodyBytesOf(raw, request?.method, reply.raw === undefined ? undefined : reply);
  return Number.isNaN(bytes) ? undefined : bytes;
}

/**
 * A `@Meter()` quantity: the response body size in units of `unitBytes`, rounded up (a 1-byte response is 1 unit, an
 * empty one or a `HEAD` request 0). The route counts the body bytes itself, so streamed responses are measured too.
 *
 * @throws {MeteringConfigurationError} when `unitBytes` is not a positive integer.
 * @example
 * ```ts
 * @Meter({ dimension: 'export_kb', quantity: responseBytesIn(1024) })
 * @Get('export')
 * export() { ... }
 * ```
 */
export function responseBytesIn(unitBytes: number): (context: ExecutionContext) => number {
  if (!Number.isSafeInteger(unitBytes) || unitBytes < 1) {
    throw new MeteringConfigurationError(
      'ERR_METERING_INVALID_OPTION',
      'responseBytesIn(unitBytes)',
      messages.invalidOption('responseBytesIn(unitBytes)', unitBytes, 'a positive integer number of bytes'),
    );
  }
  return markNeedsBodyBytes((context: ExecutionContext) => {
    const bytes = responseBodyBytes(context);
    // Unknown size: NaN makes the engine refuse the record visibly (`invalid-quantity`) rather than bill 0.
    return bytes === undefined ? Number.NaN : Math.ceil(bytes / unitBytes);
  });
}
