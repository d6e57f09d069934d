/**
 * Model conformance: walks the Smithy model's input shapes of the four operations and, for every
 * constraint found (length, range, pattern, list length, required), sends the value at the bound and
 * the value just past it. The in-bound value must be accepted in at least one valid request context;
 * wherever it was accepted, the out-of-bound value must be refused with a constraint error.
 *
 * The model is read from `../shared/reference/` relative to the repository root. Missing locally, the
 * suite is skipped with a message; missing in CI, it fails.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Emulator } from '../src/index.js';
import { NOW, rawCall, start } from './helpers.js';
import { matchingString, violatingString } from './support/regex-examples.js';

const MODEL_URL = new URL('../../../../shared/reference/marketplace-metering.smithy.json', import.meta.url);
const MODEL_PATH = fileURLToPath(MODEL_URL);
const NAMESPACE = 'com.amazonaws.marketplacemetering#';
const OPERATIONS = ['BatchMeterUsage', 'MeterUsage', 'ResolveCustomer', 'RegisterUsage'] as const;
type Operation = (typeof OPERATIONS)[number];

/** Errors that mean "refused for a constraint violation". */
const CONSTRAINT_ERRORS = ['ValidationException', 'InvalidTagException', 'InvalidUsageAllocationsException'];

interface SmithyShape {
  type: string;
  members?: Record<string, { target: string; traits?: Record<string, unknown> }>;
  member?: { target: string; traits?: Record<string, unknown> };
  traits?: Record<string, unknown>;
  input?: { target: string };
}
type Path = (string | number)[];
type Bounds = { min?: number; max?: number };

/** One constraint of the model, located by its path from the operation's input. */
interface Site {
  readonly operation: Operation;
  readonly path: Path;
  readonly kind: 'length' | 'list-length' | 'range' | 'pattern' | 'required';
  readonly description: string;
  readonly pairs: readonly Pair[];
}

/** An in-bound edit and, when one exists, the out-of-bound edit it is paired with. */
interface Pair {
  readonly label: string;
  readonly inBound: Edit;
  readonly outOfBound?: Edit;
}
type Edit = { readonly set: unknown } | { readonly remove: true } | { readonly repeat: number };

// ---------------------------------------------------------------------------------------------------
// Walking the model

function collectSites(shapes: Record<string, SmithyShape>): Site[] {
  const sites: Site[] = [];
  for (const operation of OPERATIONS) {
    const input = shapes[NAMESPACE + operation]!.input!.target;
    walk(shapes, operation, input, {}, [], sites, new Set());
  }
  return sites;
}

function walk(
  shapes: Record<string, SmithyShape>,
  operation: Operation,
  shapeId: string,
  memberTraits: Record<string, unknown>,
  path: Path,
  out: Site[],
  stack: Set<string>,
): void {
  const shape = shapes[shapeId];
  if (!shape || stack.has(shapeId)) return;
  const traits = { ...shape.traits, ...memberTraits };
  const name = path.filter((p) => typeof p === 'string').join('.') || shapeId.replace(NAMESPACE, '');
  const length = traits['smithy.api#length'] as Bounds | undefined;
  const range = traits['smithy.api#range'] as Bounds | undefined;
  const pattern = traits['smithy.api#pattern'] as string | undefined;
  if (shape.type === 'string') {
    if (length) out.push(stringLengthSite(operation, path, name, length, pattern));
    if (pattern) out.push(patternSite(operation, path, name, pattern, length));
  }
  if ((shape.type === 'integer' || shape.type === 'long') && range)
    out.push(rangeSite(operation, path, name, range));
  if (shape.type === 'list') {
    if (length) out.push(listLengthSite(operation, path, name, length));
    const nested = new Set(stack).add(shapeId);
    walk(shapes, operation, shape.member!.target, shape.member!.traits ?? {}, [...path, 0], out, nested);
  }
  if (shape.type === 'structure') {
    const nested = new Set(stack).add(shapeId);
    for (const [member, def] of Object.entries(shape.members ?? {})) {
      const memberPath = [...path, member];
      if (def.traits?.['smithy.api#required'] !== undefined) {
        out.push({
          operation,
          path: memberPath,
          kind: 'required',
          description: `${operation} ${pathName(memberPath)} required`,
          pairs: [{ label: 'present / absent', inBound: { set: undefined }, outOfBound: { remove: true } }],
        });
      }
      walk(shapes, operation, def.target, def.traits ?? {}, memberPath, out, nested);
    }
  }
}

function stringLengthSite(operation: Operation, path: Path, name: string, b: Bounds, pattern?: string): Site {
  const text = (n: number) => (pattern ? (matchingString(pattern, n) ?? 'a'.repeat(n)) : 'a'.repeat(n));
  const pairs: Pair[] = [];
  const min = b.min ?? 0;
  pairs.push({
    label: `length ${min}${min > 0 ? ` / ${min - 1}` : ''}`,
    inBound: { set: text(min) },
    ...(min > 0 && { outOfBound: { set: 'a'.repeat(min - 1) } }),
  });
  if (b.max !== undefined) {
    pairs.push({
      label: `length ${b.max} / ${b.max + 1}`,
      inBound: { set: text(b.max) },
      outOfBound: { set: text(b.max + 1) },
    });
  }
  return {
    operation,
    path,
    kind: 'length',
    description: `${operation} ${name} length ${JSON.stringify(b)}`,
    pairs,
  };
}

function patternSite(operation: Operation, path: Path, name: string, pattern: string, length?: Bounds): Site {
  const minLength = Math.max(length?.min ?? 0, 1);
  const example = matchingString(pattern, minLength) ?? matchingString(pattern);
  if (example === undefined) throw new Error(`cannot build an example for pattern ${pattern}`);
  const violating = violatingString(pattern, length?.min ?? 0, length?.max);
  return {
    operation,
    path,
    kind: 'pattern',
    description: `${operation} ${name} pattern ${pattern}`,
    pairs: [
      {
        label:
          violating === undefined
            ? 'match (no violating string exists)'
            : `match / ${JSON.stringify(violating)}`,
        inBound: { set: example },
        ...(violating !== undefined && { outOfBound: { set: violating } }),
      },
    ],
  };
}

function rangeSite(operation: Operation, path: Path, name: string, b: Bounds): Site {
  const pairs: Pair[] = [];
  if (b.min !== undefined)
    pairs.push({ label: `${b.min} / ${b.min - 1}`, inBound: { set: b.min }, outOfBound: { set: b.min - 1 } });
  if (b.max !== undefined)
    pairs.push({ label: `${b.max} / ${b.max + 1}`, inBound: { set: b.max }, outOfBound: { set: b.max + 1 } });
  return {
    operation,
    path,
    kind: 'range',
    description: `${operation} ${name} range ${JSON.stringify(b)}`,
    pairs,
  };
}

function listLengthSite(operation: Operation, path: Path, name: string, b: Bounds): Site {
  const pairs: Pair[] = [];
  const min = b.min ?? 0;
  pairs.push({
    label: `${min} items${min > 0 ? ` / ${min - 1}` : ''}`,
    inBound: { repeat: min },
    ...(min > 0 && { outOfBound: { repeat: min - 1 } }),
  });
  if (b.max !== undefined) {
    pairs.push({
      label: `${b.max} / ${b.max + 1} items`,
      inBound: { repeat: b.max },
      outOfBound: { repeat: b.max + 1 },
    });
  }
  return {
    operation,
    path,
    kind: 'list-length',
    description: `${operation} ${name} list length ${JSON.stringify(b)}`,
    pairs,
  };
}

function pathName(path: Path): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : p)).join('.');
}

// ---------------------------------------------------------------------------------------------------
// Request contexts: valid requests the edits are applied to (the model cannot say what "valid" means
// for customers, products and time, so these are written by hand).

const TS = NOW / 1000 - 60;
const LICENSE = 'arn:aws:license-manager::123456789012:license:l-0123456789abcdef0123456789abcdef';
const tagged = () => [{ AllocatedUsageQuantity: 1, Tags: [{ Key: 'key', Value: 'value' }] }];

const CONTEXTS: Record<Operation, Record<string, () => Record<string, unknown>>> = {
  BatchMeterUsage: {
    legacy: () => ({
      ProductCode: 'prod-conformance',
      UsageRecords: [{ Timestamp: TS, CustomerIdentifier: 'customer-1', Dimension: 'dim', Quantity: 1 }],
    }),
    'legacy with allocations': () => ({
      ProductCode: 'prod-conformance',
      UsageRecords: [
        {
          Timestamp: TS,
          CustomerIdentifier: 'customer-1',
          Dimension: 'dim',
          Quantity: 1,
          UsageAllocations: tagged(),
        },
      ],
    }),
    account: () => ({
      ProductCode: 'prod-conformance',
      UsageRecords: [{ Timestamp: TS, CustomerAWSAccountId: '123456789012', Dimension: 'dim', Quantity: 1 }],
    }),
    license: () => ({
      UsageRecords: [
        {
          Timestamp: TS,
          CustomerAWSAccountId: '123456789012',
          LicenseArn: LICENSE,
          Dimension: 'dim',
          Quantity: 1,
        },
      ],
    }),
    'license with allocations': () => ({
      UsageRecords: [
        {
          Timestamp: TS,
          CustomerAWSAccountId: '123456789012',
          LicenseArn: LICENSE,
          Dimension: 'dim',
          Quantity: 1,
          UsageAllocations: tagged(),
        },
      ],
    }),
  },
  MeterUsage: {
    plain: () => ({
      ProductCode: 'prod-conformance',
      Timestamp: TS,
      UsageDimension: 'dim',
      UsageQuantity: 1,
      ClientToken: 'client-token',
    }),
    'with allocations': () => ({
      ProductCode: 'prod-conformance',
      Timestamp: TS,
      UsageDimension: 'dim',
      UsageQuantity: 1,
      UsageAllocations: tagged(),
      ClientToken: 'client-token',
    }),
  },
  ResolveCustomer: { token: () => ({ RegistrationToken: 'registration-token' }) },
  RegisterUsage: { plain: () => ({ ProductCode: 'prod-conformance', PublicKeyVersion: 1, Nonce: 'nonce' }) },
};

/** In-bound values a service rule (not a constraint) refuses everywhere, with the error expected instead. */
function knownRefusal(site: Site, value: unknown): string | undefined {
  // An empty product code satisfies the model but names no product.
  if (site.operation !== 'BatchMeterUsage' && site.path.at(-1) === 'ProductCode' && value === '') {
    return 'InvalidProductCodeException';
  }
  return undefined;
}

function apply(request: Record<string, unknown>, path: Path, edit: Edit): boolean {
  let parent: unknown = request;
  for (const key of path.slice(0, -1)) {
    parent = (parent as Record<string | number, unknown>)?.[key];
    if (parent === undefined || parent === null) return false;
  }
  const target = parent as Record<string | number, unknown>;
  const last = path.at(-1)!;
  if ('remove' in edit) delete target[last];
  else if ('repeat' in edit) {
    const list = target[last];
    if (!Array.isArray(list) || list.length === 0) return false;
    target[last] = Array.from({ length: edit.repeat }, () => structuredClone(list[0]));
  } else if (edit.set !== undefined) target[last] = edit.set;
  else if (target[last] === undefined) return false;
  return true;
}

/**
 * Cross-field rules of the service (allocations sum to the quantity, tag keys unique per allocation,
 * tag sets unique across allocations), applied so an edit is not refused for an unrelated reason.
 * The field under test wins: an edited quantity is left as is.
 */
function fixup(request: Record<string, unknown>, path: Path): void {
  const editedQuantity = path.at(-1) === 'Quantity' || path.at(-1) === 'UsageQuantity';
  const holders = [request, ...((request.UsageRecords as Record<string, unknown>[] | undefined) ?? [])];
  for (const holder of holders) {
    const allocations = holder.UsageAllocations as
      | { AllocatedUsageQuantity?: unknown; Tags?: { Key?: unknown; Value?: unknown }[] }[]
      | undefined;
    if (!Array.isArray(allocations)) continue;
    allocations.forEach((allocation, i) => {
      if (!Array.isArray(allocation.Tags)) return;
      allocation.Tags.forEach((tag, j) => {
        if (
          j > 0 &&
          typeof tag.Key === 'string' &&
          allocation.Tags!.slice(0, j).some((t) => t.Key === tag.Key)
        )
          tag.Key = `${tag.Key}${j}`;
      });
      const first = allocation.Tags[0];
      if (i > 0 && first && typeof first.Value === 'string') first.Value = `${first.Value}${i}`;
    });
    if (!editedQuantity) {
      const sum = allocations.reduce(
        (s, a) => s + (typeof a.AllocatedUsageQuantity === 'number' ? a.AllocatedUsageQuantity : 0),
        0,
      );
      if ('Quantity' in holder) holder.Quantity = sum;
      if ('UsageQuantity' in holder) holder.UsageQuantity = sum;
    }
  }
}

// ---------------------------------------------------------------------------------------------------

const modelAvailable = existsSync(MODEL_PATH);

describe('conformance with the Smithy model', () => {
  if (!modelAvailable) {
    if (process.env.CI) {
      it('finds the Smithy model', () => {
        throw new Error(`The Smithy model is missing at ${MODEL_PATH}; CI must provide ../shared/reference/`);
      });
    } else {
      it.skip(`needs the Smithy model at ${MODEL_PATH} (not found; skipped locally)`, () => {});
    }
    return;
  }

  const model = JSON.parse(readFileSync(MODEL_PATH, 'utf8')) as { shapes: Record<string, SmithyShape> };
  const sites = collectSites(model.shapes);
  let emulator: Emulator;

  beforeAll(async () => {
    emulator = await start({ faults: { quota: false } });
  });
  afterAll(() => emulator.close());

  async function send(operation: Operation, request: Record<string, unknown>) {
    emulator.control.reset();
    if (
      operation === 'ResolveCustomer' &&
      typeof request.RegistrationToken === 'string' &&
      request.RegistrationToken !== ''
    ) {
      emulator.control.issueToken({ token: request.RegistrationToken });
    }
    return rawCall(emulator, operation, request);
  }

  it('finds constraints on every operation input', () => {
    for (const operation of OPERATIONS) expect(sites.some((s) => s.operation === operation)).toBe(true);
  });

  it('accepts every in-bound value and refuses every value just past a bound', async () => {
    const failures: string[] = [];
    let requests = 0;
    let pairsChecked = 0;
    for (const site of sites) {
      for (const pair of site.pairs) {
        pairsChecked += 1;
        let acceptedSomewhere = false;
        const refusals: string[] = [];
        for (const [contextName, build] of Object.entries(CONTEXTS[site.operation])) {
          const inRequest = build();
          if (!apply(inRequest, site.path, pair.inBound)) continue;
          fixup(inRequest, site.path);
          const inResult = await send(site.operation, inRequest);
          requests += 1;
          const inValue = 'set' in pair.inBound ? pair.inBound.set : undefined;
          const expectedRefusal = knownRefusal(site, inValue);
          if (inResult.status !== 200) {
            refusals.push(`${contextName}: ${inResult.body.__type}`);
            if (expectedRefusal === undefined || inResult.body.__type !== expectedRefusal) continue;
          } else {
            acceptedSomewhere = true;
          }
          if (!pair.outOfBound) continue;
          const outRequest = build();
          apply(outRequest, site.path, pair.outOfBound);
          fixup(outRequest, site.path);
          const outResult = await send(site.operation, outRequest);
          requests += 1;
          if (outResult.status !== 400 || !CONSTRAINT_ERRORS.includes(String(outResult.body.__type))) {
            failures.push(
              `${site.description} [${pair.label}] in context ${contextName}: out-of-bound answered ${outResult.status} ${String(outResult.body.__type)}`,
            );
          }
        }
        const inValue = 'set' in pair.inBound ? pair.inBound.set : undefined;
        if (!acceptedSomewhere && knownRefusal(site, inValue) === undefined) {
          failures.push(
            `${site.description} [${pair.label}]: in-bound value accepted in no context (${refusals.join(', ')})`,
          );
        }
      }
    }
    console.info(
      `conformance: ${sites.length} model constraints, ${pairsChecked} bound pairs, ${requests} requests ` +
        `(${Object.entries(countBy(sites))
          .map(([k, n]) => `${k} ${n}`)
          .join(', ')})`,
    );
    expect(failures).toEqual([]);
  });
});

function countBy(sites: readonly Site[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const s of sites) counts[s.kind] = (counts[s.kind] ?? 0) + 1;
  return counts;
}
