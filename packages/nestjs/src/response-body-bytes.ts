import type { ExecutionContext } from '@nestjs/common';

interface HeaderSource {
  getHeader(name: string): unknown;
}

/**
 * The size of the response body in bytes, from its `Content-Length` header, on Express and Fastify alike; undefined
 * when the body was streamed without one. Use it in a `@Meter()` quantity, which runs once the response has finished:
 *
 * @example
 * ```ts
 * @Meter({ dimension: 'export_kb', quantity: (ctx) => Math.ceil((responseBodyBytes(ctx) ?? 0) / 1024) })
 * ```
 */
export function responseBodyBytes(context: ExecutionContext): number | undefined {
  // Fastify's reply keeps the headers it sent; Node's response forgets those passed straight to writeHead().
  const response = context.getArgByIndex(1) as HeaderSource & { raw?: HeaderSource };
  const value = response.getHeader('content-length') ?? response.raw?.getHeader('content-length');
  const bytes =
    typeof value === 'number' ? value : typeof value === 'string' ? Number.parseInt(value, 10) : Number.NaN;
  return Number.isSafeInteger(bytes) && bytes >= 0 ? bytes : undefined;
}
