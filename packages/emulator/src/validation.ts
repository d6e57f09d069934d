/**
 * Request validation: the model's constraints (walked generically over {@link SHAPES}) and the
 * cross-field allocation rules the model cannot express.
 *
 * Type mismatches (a string where an integer belongs, a fractional quantity) are answered with
 * `SerializationException`, constraint violations with `ValidationException` — or with the modeled
 * `InvalidTagException` / `InvalidUsageAllocationsException` when the violation sits inside tags or
 * allocations. AWS does not document the first two; they are assumptions (see the README).
 */
import { ServiceError } from './errors.js';
import { type Shape, shapeOf, type ViolationErrorType } from './shapes.js';
import type { UsageAllocationWire } from './wire.js';

interface Violation {
  readonly path: string;
  readonly value: unknown;
  readonly constraint: string;
  readonly error: ViolationErrorType;
}

/** Largest number of distinct tag keys across one record's allocations (seller guide: 5 tags). */
export const MAX_TAG_KEYS_PER_RECORD = 5;

/**
 * Checks `value` against the shape `shapeName` and returns a copy holding only modeled members, with
 * `null` members dropped (awsJson treats them as absent).
 *
 * @throws {ServiceError} `SerializationException` for a wrong JSON type; the violation's error type
 *   (usually `ValidationException`) when a constraint fails, listing every violation found.
 */
export function validateInput<T>(shapeName: string, value: unknown): T {
  const violations: Violation[] = [];
  const cleaned = walk(shapeOf(shapeName), value, '', violations, undefined);
  if (violations.length > 0) {
    const first = violations[0]!;
    const count = violations.length;
    const details = violations
      .map((v) => `Value ${display(v.value)} at '${v.path}' failed to satisfy constraint: ${v.constraint}`)
      .join('; ');
    throw new ServiceError(
      first.error,
      `${count} validation error${count === 1 ? '' : 's'} detected: ${details}`,
    );
  }
  return cleaned as T;
}

function walk(
  shape: Shape,
  value: unknown,
  path: string,
  out: Violation[],
  inherited: ViolationErrorType | undefined,
): unknown {
  switch (shape.type) {
    case 'structure': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        throw serialization(path, 'an object');
      }
      const source = value as Record<string, unknown>;
      const result: Record<string, unknown> = {};
      for (const [name, member] of Object.entries(shape.members)) {
        const memberPath = path === '' ? camel(name) : `${path}.${camel(name)}`;
        const memberValue = source[name];
        const target = shapeOf(member.target);
        if (memberValue === undefined || memberValue === null) {
          if (member.required) {
            out.push({
              path: memberPath,
              value: null,
              constraint: 'Member must not be null',
              error: violationOf(target) ?? inherited ?? 'ValidationException',
            });
          }
          continue;
        }
        result[name] = walk(target, memberValue, memberPath, out, violationOf(target) ?? inherited);
      }
      return result;
    }
    case 'list': {
      if (!Array.isArray(value)) throw serialization(path, 'a list');
      const error = shape.violation ?? inherited ?? 'ValidationException';
      checkLength(value.length, shape.length, path, value, out, error);
      const member = shapeOf(shape.member);
      return value.map((item, index) => {
        if (item === null || item === undefined) throw serialization(`${path}.${index + 1}`, 'a list member');
        return walk(member, item, `${path}.${index + 1}.member`, out, violationOf(member) ?? error);
      });
    }
    case 'string': {
      if (typeof value !== 'string') throw serialization(path, 'a string');
      const error = shape.violation ?? inherited ?? 'ValidationException';
      // Smithy measures string length in Unicode code points, not UTF-16 units.
      checkLength([...value].length, shape.length, path, value, out, error);
      if (shape.pattern && !shape.pattern.test(value)) {
        out.push({
          path,
          value,
          constraint: `Member must satisfy regular expression pattern: ${shape.pattern.source}`,
          error,
        });
      }
      return value;
    }
    case 'integer': {
      if (typeof value !== 'number' || !Number.isInteger(value)) throw serialization(path, 'an integer');
      const error = shape.violation ?? inherited ?? 'ValidationException';
      const { min, max } = shape.range ?? {};
      if (min !== undefined && value < min) {
        out.push({
          path,
          value,
          constraint: `Member must have value greater than or equal to ${min}`,
          error,
        });
      }
      if (max !== undefined && value > max) {
        out.push({ path, value, constraint: `Member must have value less than or equal to ${max}`, error });
      }
      return value;
    }
    case 'boolean':
      if (typeof value !== 'boolean') throw serialization(path, 'a boolean');
      return value;
    case 'timestamp':
      // awsJson1_1 timestamps are epoch seconds; fractional milliseconds are allowed.
      if (typeof value !== 'number' || !Number.isFinite(value))
        throw serialization(path, 'epoch seconds (a number)');
      return value;
  }
}

function checkLength(
  length: number,
  bounds: { readonly min?: number; readonly max?: number } | undefined,
  path: string,
  value: unknown,
  out: Violation[],
  error: ViolationErrorType,
): void {
  if (!bounds) return;
  if (bounds.min !== undefined && length < bounds.min) {
    out.push({
      path,
      value,
      constraint: `Member must have length greater than or equal to ${bounds.min}`,
      error,
    });
  }
  if (bounds.max !== undefined && length > bounds.max) {
    out.push({
      path,
      value,
      constraint: `Member must have length less than or equal to ${bounds.max}`,
      error,
    });
  }
}

function violationOf(shape: Shape): ViolationErrorType | undefined {
  return 'violation' in shape ? shape.violation : undefined;
}

function serialization(path: string, expected: string): ServiceError {
  return new ServiceError(
    'SerializationException',
    `Expected ${expected} at '${path || 'the request body'}'`,
  );
}

function camel(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}

function display(value: unknown): string {
  if (Array.isArray(value)) return `[${value.length} items]`;
  if (typeof value === 'string') return `'${value.length > 100 ? `${value.slice(0, 100)}…` : value}'`;
  return `'${String(value)}'`;
}

/**
 * The allocation rules of the seller guide: allocations add up to the quantity, at most
 * {@link MAX_TAG_KEYS_PER_RECORD} distinct tag keys across the list, no key twice in one allocation,
 * and no two allocations with the same tag set.
 *
 * "At most 5 tags across the allocation list" is read as 5 distinct tag *keys*: with 5 tags in total
 * and unique tag sets, at most 6 allocations could ever exist, contradicting the model's bound of 2,500.
 *
 * @throws {ServiceError} `InvalidUsageAllocationsException` or `InvalidTagException`.
 */
export function checkAllocations(
  quantity: number,
  allocations: readonly UsageAllocationWire[],
  where: string,
): void {
  let sum = 0;
  const keys = new Set<string>();
  const tagSets = new Set<string>();
  for (const [index, allocation] of allocations.entries()) {
    sum += allocation.AllocatedUsageQuantity;
    const tags = allocation.Tags ?? [];
    const own = new Set<string>();
    for (const tag of tags) {
      if (own.has(tag.Key)) {
        throw new ServiceError(
          'InvalidTagException',
          `${where}: tag key '${tag.Key}' appears twice in allocation ${index + 1}`,
        );
      }
      own.add(tag.Key);
      keys.add(tag.Key);
    }
    const tagSet = JSON.stringify(tags.map((t) => [t.Key, t.Value]).sort());
    if (tagSets.has(tagSet)) {
      throw new ServiceError(
        'InvalidUsageAllocationsException',
        `${where}: allocation ${index + 1} repeats the tag set of an earlier allocation`,
      );
    }
    tagSets.add(tagSet);
  }
  if (keys.size > MAX_TAG_KEYS_PER_RECORD) {
    throw new ServiceError(
      'InvalidTagException',
      `${where}: ${keys.size} distinct tag keys across the allocations; at most ${MAX_TAG_KEYS_PER_RECORD} are allowed`,
    );
  }
  if (sum !== quantity) {
    throw new ServiceError(
      'InvalidUsageAllocationsException',
      `${where}: the allocated quantities add up to ${sum}, not to the usage quantity ${quantity}`,
    );
  }
}
