/** `@Meter()`: marks a route or controller as metered and attaches the guard or interceptor that meters it. */
import { MeteringConfigurationError } from '@meterkit/core';
import { needsBodyBytes } from '@meterkit/core/http';
import { UseGuards, UseInterceptors } from '@nestjs/common';
import {
  type MeterDefinition,
  MeterMetadata,
  type MeterOptions,
  type MeterOptionsOfPrevious,
  type MeterSpec,
  usesResult as usesResultOf,
} from './meter.metadata.js';
import { MeteringGuard } from './metering.guard.js';
import { MeteringInterceptor } from './metering.interceptor.js';
import { messages } from './metering.messages.js';

type Hook = typeof MeteringGuard | typeof MeteringInterceptor;

/** The hooks `@Meter()` attached to each handler or controller, so stacked decorators attach each one once. */
const attachedHooks = new WeakMap<object, Set<Hook>>();

const meterOptionKeys = new Set<string>([
  'dimension',
  'quantity',
  'when',
  'successStatus',
  'tags',
  'usesResult',
  'countBytes',
]);

function invalid(where: string, value: unknown, rule: string): never {
  throw new MeteringConfigurationError(
    'ERR_METERING_INVALID_OPTION',
    `@Meter() on ${where}`,
    messages.invalidMeter(where, value, rule),
  );
}

function toDefinition(spec: MeterSpec, where: string): MeterDefinition {
  const options: MeterOptions = typeof spec === 'string' ? { dimension: spec } : spec;
  if (options === null || typeof options !== 'object')
    invalid(where, spec, 'a dimension name or { dimension, quantity?, when? }');
  for (const key of Object.keys(options)) {
    if (!meterOptionKeys.has(key))
      invalid(where, key, `an unknown key; known: ${[...meterOptionKeys].join(', ')}`);
  }
  const { dimension, quantity = 1, when, successStatus, tags, usesResult, countBytes } = options;
  if (typeof dimension !== 'string' || dimension.length === 0) invalid(where, dimension, 'a dimension name');
  if (typeof quantity !== 'function' && !(Number.isSafeInteger(quantity) && quantity >= 0)) {
    invalid(where, quantity, 'a non-negative integer or a function (context, result) => number');
  }
  if (when !== undefined && typeof when !== 'function')
    invalid(where, when, 'a function (context, result) => boolean');
  if (successStatus !== undefined && typeof successStatus !== 'function') {
    invalid(where, successStatus, 'a function (statusCode) => boolean');
  }
  if (tags !== undefined && typeof tags !== 'function')
    invalid(where, tags, 'a function (context, result) => ({ key: value })');
  if (usesResult !== undefined && typeof usesResult !== 'boolean') invalid(where, usesResult, 'a boolean');
  if (countBytes !== undefined && typeof countBytes !== 'boolean') invalid(where, countBytes, 'a boolean');
  return Object.freeze({
    dimension,
    quantity,
    when,
    successStatus,
    tags,
    usesResult: usesResultOf({ quantity, when, tags, usesResult }),
    countBytes: countBytes === true || needsBodyBytes(quantity),
  });
}

/** Joins `'dim', { tags, ... }` (options without a dimension, after a name) into one spec. */
function joinOptions(meters: readonly (MeterSpec | MeterOptionsOfPrevious)[]): MeterSpec[] {
  const specs: MeterSpec[] = [];
  for (const spec of meters) {
    const previous = specs[specs.length - 1];
    if (
      typeof previous === 'string' &&
      spec !== null &&
      typeof spec === 'object' &&
      (spec as MeterOptions).dimension === undefined
    ) {
      specs[specs.length - 1] = { ...(spec as Omit<MeterOptions, 'dimension'>), dimension: previous };
    } else {
      specs.push(spec as MeterSpec);
    }
  }
  return specs;
}

function describeTarget(target: object, key: string | symbol | undefined): string {
  const className = typeof target === 'function' ? target.name : target.constructor.name;
  return key === undefined ? className : `${className}.${String(key)}`;
}

/**
 * Meters a handler, or every handler of a controller: each successful response counts for the given dimensions,
 * billed to the customer your `customer` resolver returns. Nothing is counted when the handler throws, the status is
 * not a success (2xx, and 3xx but 304, by default), or the client goes away before the whole response was sent.
 *
 * Give several dimensions in one call or stack the decorator; a handler's `@Meter()` replaces its controller's.
 * It attaches {@link MeteringGuard} to the routes it marks, or `MeteringInterceptor` when a quantity or condition reads
 * the handler's result; unmetered routes cost nothing. The customer resolver runs after every other guard, before
 * interceptors. Dimensions are checked against the service's rules (and `dimensions`, when declared) at start-up; a
 * bad one fails the app naming `Controller.method`.
 *
 * @example
 * ```ts
 * @Meter('api_calls')
 * @Get('forecast')
 * forecast() { ... }
 *
 * @Meter('api_calls', { dimension: 'rows', quantity: (_ctx, result) => (result as Row[]).length })
 * @Get('rows')
 * rows() { ... }
 *
 * // Options without a dimension belong to the name before them: usage allocated per project.
 * @Meter('api_calls', { tags: (ctx) => ({ project: ctx.switchToHttp().getRequest().params.project }) })
 * @Get('projects/:project/forecast')
 * projectForecast() { ... }
 * ```
 * @throws {MeteringConfigurationError} when a definition is malformed (at class definition).
 */
export function Meter(...given: (MeterSpec | MeterOptionsOfPrevious)[]): ClassDecorator & MethodDecorator {
  const meters = joinOptions(given);
  return (target: object, key?: string | symbol, descriptor?: PropertyDescriptor): void => {
    const where = describeTarget(target, key);
    if (meters.length === 0) invalid(where, [], 'at least one dimension');
    const holder: object = descriptor?.value ?? target;
    const stacked =
      (Reflect.getOwnMetadata(MeterMetadata.KEY, holder) as readonly MeterDefinition[] | undefined) ?? [];
    // Decorators apply bottom-up: put this (upper) one first to keep the order they are written in.
    const definitions = [...meters.map((spec) => toDefinition(spec, where)), ...stacked];
    const seen = new Set<string>();
    for (const { dimension } of definitions) {
      if (seen.has(dimension))
        invalid(where, dimension, 'a dimension listed once (it would be counted twice)');
      seen.add(dimension);
    }
    MeterMetadata(Object.freeze(definitions))(
      target,
      key as string | symbol,
      descriptor as PropertyDescriptor,
    );
    // Counting from the handler's result needs an interceptor; anything else is metered from a guard, which costs a
    // route far less. A stacked @Meter() below may have attached one already.
    const hooks = attachedHooks.get(holder) ?? new Set<Hook>();
    attachedHooks.set(holder, hooks);
    const hook: Hook = definitions.some((definition) => definition.usesResult)
      ? MeteringInterceptor
      : MeteringGuard;
    if (hooks.has(hook)) return;
    hooks.add(hook);
    const attach = hook === MeteringGuard ? UseGuards(MeteringGuard) : UseInterceptors(MeteringInterceptor);
    attach(target, key as string | symbol, descriptor as PropertyDescriptor);
  };
}
