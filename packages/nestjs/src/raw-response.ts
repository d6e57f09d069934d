/** Finds the raw Node response behind what Nest hands a guard or interceptor, on Express and Fastify. */
import type { RawResponse } from '@meterkit/core/http';

/** The prototype of responses that are their own raw response (Express's), once one has been seen. */
let rawPrototype: object | null = null;

/**
 * @internal The raw Node response behind what Nest hands an interceptor or guard: Fastify's reply keeps it in `raw`,
 * Express's response is it. Express responses are recognised by their prototype after the first one, because looking
 * up a missing property on them costs a quarter of a microsecond (their prototype is swapped in per request).
 */
export function rawResponseOf(response: { readonly raw?: RawResponse } & RawResponse): RawResponse {
  const prototype: unknown = Object.getPrototypeOf(response);
  if (prototype === rawPrototype) return response;
  const raw = response.raw;
  if (raw !== undefined) return raw;
  rawPrototype = prototype as object | null;
  return response;
}
