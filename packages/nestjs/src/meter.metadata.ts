/** What `@Meter()` and `@SkipMeter()` store on routes, and how a route's definitions are read. */
import type { UsageTags } from '@meterkit/core';
import type { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';

/** How one dimension of a metered route is counted. */
export interface MeterOptions {
  /** The dimension's API name, as declared in the product listing. Checked at start-up. */
  dimension: string;
  /**
   * Units per successful response: a number, or a function of the execution context and the value the handler
   * returned (rows, tokens, bytes). It runs once the response has finished, so it may read the final response
   * headers (see {@link responseBodyBytes}).
   * @default 1
   */
  quantity?: number | ((context: ExecutionContext, result: unknown) => number);
  /** Counts only when this returns true (evaluated after the success check, when the response has finished). */
  when?: (context: ExecutionContext, result: unknown) => boolean;
  /**
   * Which final status codes count as served, for this dimension on this route.
   * @default the module's `successStatus` (200–399)
   */
  successStatus?: (statusCode: number) => boolean;
  /**
   * Usage allocation tags for this response's units, e.g. `(ctx) => ({ project: ctx.switchToHttp().getRequest().params.project })`:
   * the customer sees the hour's record split by tag set. At most 5 tags, keys 1..100 and values 1..256 characters of
   * `a-zA-Z0-9+ -=._:/@` (the service model's pattern). Tags that break a rule are dropped with a
   * `usage.tags-dropped` event and the units counted untagged; `undefined` counts untagged.
   * @default untagged
   */
  tags?: (context: ExecutionContext, result: unknown) => UsageTags | undefined;
  /**
   * Whether `quantity`, `when` or `tags` reads the handler's result. Only then is the route metered by `MeteringInterceptor`,
   * which subscribes to what the handler returns; otherwise `MeteringGuard` meters it, far more cheaply, leaving the
   * handler alone and learning of a thrown exception from the error status its exception filter answers.
   *
   * Inferred from the functions' declared parameters: `(ctx, result) => …` uses it, `(ctx) => …` does not. Set it
   * when that misleads: `true` for `(ctx, result = []) => …` or `(...args) => …` (JavaScript does not count those
   * parameters), or to have a thrown exception count nothing even when one of your exception filters answers it
   * with a success status.
   * @default inferred
   */
  usesResult?: boolean;
  /**
   * Count the body bytes as they are written, for a `quantity` that calls {@link responseBodyBytes} on streamed
   * responses (without `Content-Length`). `responseBytesIn()` turns it on by itself.
   * @default false
   */
  countBytes?: boolean;
}

/** A dimension name (counted 1 per successful response) or full {@link MeterOptions}. */
export type MeterSpec = string | MeterOptions;

/**
 * The options of the dimension named just before it: `@Meter('api_calls', { tags: (ctx) => ({ project }) })` is
 * `@Meter({ dimension: 'api_calls', tags: ... })`.
 */
export type MeterOptionsOfPrevious = Omit<MeterOptions, 'dimension'> & { dimension?: undefined };

/** @internal One dimension of a route, normalized. */
export interface MeterDefinition {
  readonly dimension: string;
  readonly quantity: number | ((context: ExecutionContext, result: unknown) => number);
  readonly when: ((context: ExecutionContext, result: unknown) => boolean) | undefined;
  readonly successStatus: ((statusCode: number) => boolean) | undefined;
  readonly tags: ((context: ExecutionContext, result: unknown) => UsageTags | undefined) | undefined;
  /** Counting this dimension needs the handler's result (see {@link MeterOptions.usesResult}). */
  readonly usesResult: boolean;
  /** Counting this dimension needs the body bytes counted (see {@link MeterOptions.countBytes}). */
  readonly countBytes: boolean;
}

/** @internal Whether a route with `definition` must count its body bytes. */
export function countsBytes(definition: MeterDefinition): boolean {
  return definition.countBytes;
}

/** @internal Whether counting `definition` needs the handler's result: its `usesResult`, else inferred from arity. */
export function usesResult(
  definition: Pick<MeterDefinition, 'quantity' | 'when'> & {
    readonly usesResult?: boolean;
    readonly tags?: MeterDefinition['tags'];
  },
): boolean {
  if (definition.usesResult !== undefined) return definition.usesResult;
  // A `(context, result)` function that declares its second parameter reads the result.
  return (
    (typeof definition.quantity === 'function' && definition.quantity.length >= 2) ||
    (definition.when !== undefined && definition.when.length >= 2) ||
    (definition.tags !== undefined && definition.tags.length >= 2)
  );
}

/**
 * The metadata `@Meter()` writes: the dimensions of a handler or controller, in declaration order. Read it the Nest
 * way, e.g. in a subclass of `MeteringInterceptor`:
 * `this.reflector.getAllAndOverride(MeterMetadata, [context.getHandler(), context.getClass()])`.
 * A handler's `@Meter()` replaces its controller's.
 */
export const MeterMetadata = Reflector.createDecorator<readonly MeterDefinition[]>({ key: 'meterkit:meter' });

/**
 * Turns metering off for a handler (or a whole controller), e.g. one route of a metered controller.
 *
 * @example
 * ```ts
 * @Meter('api_calls')
 * @Controller('v1')
 * export class ApiController {
 *   @SkipMeter()
 *   @Get('status')
 *   status() { ... }
 * }
 * ```
 */
export const SkipMeter = Reflector.createDecorator<boolean | undefined, boolean>({
  key: 'meterkit:skip-meter',
  transform: (skip) => skip ?? true,
});
