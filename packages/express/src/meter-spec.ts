/** meter(...) arguments: what a route declares (dimensions, quantity, tags) compiled once into a plan. */
import { MeteringConfigurationError, type MeteringEngine, type UsageTags } from '@meterkit/core';
import { needsBodyBytes } from '@meterkit/core/http';
import type { Request, Response } from 'express';
import { messages } from './messages.js';
import type { SuccessPredicate } from './options.js';

/** How many units a metered request counts, read when the response has finished. */
export type QuantityOf = (req: Request, res: Response) => number;

/** The usage allocation tags of a finished request (e.g. `{ project: req.params.project }`); `undefined`: untagged. */
export type TagsOf = (req: Request, res: Response) => UsageTags | undefined;

/** One dimension metered on a route, with how much and when. */
export interface MeterSpec {
  /** The dimension's API name, as declared in the product listing (and in the `dimensions` option, when given). */
  dimension: string;
  /**
   * Units per request: a constant, or a function of the finished request and response (e.g. {@link responseBytesIn}).
   * @default 1
   */
  quantity?: number | QuantityOf;
  /** Counts only when this returns true (read on finish, after the status check). @default always */
  when?: (req: Request, res: Response) => boolean;
  /** Overrides the global `successStatus` for this dimension. */
  successStatus?: SuccessPredicate;
  /**
   * Count the body bytes written, for a `quantity` function that calls `responseBytes(res)` on streamed responses
   * (without `Content-Length`). {@link responseBytesIn} turns it on by itself.
   * @default false
   */
  countBytes?: boolean;
  /**
   * Usage allocation tags for this request's units (read on finish): the customer sees the hour's record split by tag
   * set. At most 5 tags, keys 1..100 and values 1..256 characters of `a-zA-Z0-9+ -=._:/@` (the service model's
   * pattern). Tags that break a rule are dropped with a `usage.tags-dropped` event and the units counted untagged.
   * @default untagged
   */
  tags?: TagsOf;
}

/** What `meter()` accepts: dimension names, specs, or arrays of either. */
export type MeterInput = string | MeterSpec | readonly (string | MeterSpec)[];

/** @internal One compiled dimension of a meter, read by the `finish` handler. */
export interface MeterEntry {
  readonly dimension: string;
  /** Used when `quantityOf` is undefined. */
  readonly quantity: number;
  readonly quantityOf: QuantityOf | undefined;
  readonly when: ((req: Request, res: Response) => boolean) | undefined;
  readonly isSuccess: SuccessPredicate;
  readonly tagsOf: TagsOf | undefined;
  /** How the meter was declared, for messages: `meter('api_calls')`. */
  readonly label: string;
}

/** @internal A compiled `meter(...)` call. */
export interface MeterPlan {
  readonly entries: readonly MeterEntry[];
  readonly countsBytes: boolean;
}

type SpecKeys = { [K in keyof Required<MeterSpec>]: true };
const specKeys: SpecKeys = {
  dimension: true,
  quantity: true,
  when: true,
  successStatus: true,
  countBytes: true,
  tags: true,
};

function labelOf(dimension: unknown): string {
  return `meter(${typeof dimension === 'string' ? `'${dimension}'` : String(dimension)})`;
}

function invalid(field: string, value: unknown, rule: string): never {
  throw new MeteringConfigurationError(
    'ERR_METERING_INVALID_OPTION',
    field,
    messages.invalidOption(field, value, rule),
  );
}

/**
 * Checks every spec of a `meter(...)` call against the engine (dimension rules and declared dimensions) and compiles
 * it, so a wrong name fails when the route is declared, not on the first request.
 * @throws {MeteringConfigurationError}
 */
export function compileMeter(
  engine: MeteringEngine,
  defaultSuccess: SuccessPredicate,
  inputs: readonly MeterInput[],
): MeterPlan {
  const specs: (string | MeterSpec)[] = [];
  for (const input of inputs) {
    if (Array.isArray(input)) specs.push(...(input as readonly (string | MeterSpec)[]));
    else specs.push(input as string | MeterSpec);
  }
  if (specs.length === 0)
    throw new MeteringConfigurationError('ERR_METERING_INVALID_OPTION', 'meter()', messages.emptyMeter());
  const entries: MeterEntry[] = [];
  let countsBytes = false;
  for (const raw of specs) {
    const spec: MeterSpec = typeof raw === 'object' && raw !== null ? raw : { dimension: raw as string };
    const label = labelOf(spec.dimension);
    for (const key of Object.keys(spec)) {
      if (!Object.hasOwn(specKeys, key)) {
        throw new MeteringConfigurationError(
          'ERR_METERING_UNKNOWN_OPTION',
          `${label}.${key}`,
          messages.unknownOption(`${label}.${key}`, Object.keys(specKeys)),
        );
      }
    }
    const dimension = engine.assertDimension(spec.dimension, label);
    if (entries.some((e) => e.dimension === dimension)) {
      throw new MeteringConfigurationError(
        'ERR_METERING_INVALID_OPTION',
        label,
        messages.duplicateDimension(label, dimension),
      );
    }
    const { quantity = 1, when, successStatus, countBytes, tags } = spec;
    if (typeof quantity === 'number') {
      if (!Number.isSafeInteger(quantity) || quantity < 0)
        invalid(`${label}.quantity`, quantity, 'a non-negative integer or a function');
    } else if (typeof quantity !== 'function') {
      invalid(`${label}.quantity`, quantity, 'a non-negative integer or a function (req, res) => number');
    }
    if (when !== undefined && typeof when !== 'function')
      invalid(`${label}.when`, when, 'a function (req, res) => boolean');
    if (successStatus !== undefined && typeof successStatus !== 'function') {
      invalid(`${label}.successStatus`, successStatus, 'a function (status) => boolean');
    }
    if (countBytes !== undefined && typeof countBytes !== 'boolean')
      invalid(`${label}.countBytes`, countBytes, 'a boolean');
    if (tags !== undefined && typeof tags !== 'function')
      invalid(`${label}.tags`, tags, 'a function (req, res) => ({ key: value })');
    const quantityOf = typeof quantity === 'function' ? quantity : undefined;
    countsBytes ||= countBytes === true || needsBodyBytes(quantityOf);
    entries.push({
      dimension,
      quantity: typeof quantity === 'number' ? quantity : 1,
      quantityOf,
      when,
      isSuccess: successStatus ?? defaultSuccess,
      tagsOf: tags,
      label,
    });
  }
  return Object.freeze({ entries: Object.freeze(entries), countsBytes });
}
