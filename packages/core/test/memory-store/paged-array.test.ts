// Tests for the paged array: slots read back as set across page boundaries, pages come and go whole.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PAGE_SIZE, PagedArray } from '../../src/memory-store/paged-array.js';

describe('PagedArray', () => {
  it('reads back every slot as set, across page boundaries', () => {
    const array = PagedArray.float64();
    const length = 2 * PAGE_SIZE + 10;
    for (let i = 0; i < length; i++) array.set(i, i * 1.5);
    const read = Array.from({ length }, (_, i) => array.get(i));
    expect(read).toEqual(Array.from({ length }, (_, i) => i * 1.5));
  });

  it('allocates no page until a slot in it is set, then one page at a time', () => {
    const array = PagedArray.int32();
    const counts = [array.pageCount];
    array.set(0, 1);
    counts.push(array.pageCount);
    array.set(PAGE_SIZE - 1, 1);
    counts.push(array.pageCount);
    array.set(PAGE_SIZE, 1);
    counts.push(array.pageCount);
    expect(counts).toEqual([0, 1, 1, 2]);
  });

  it('allocates the pages below a slot set beyond the last page', () => {
    const array = PagedArray.uint8();
    array.set(3 * PAGE_SIZE + 5, 200);
    expect([array.pageCount, array.get(3 * PAGE_SIZE + 5), array.get(PAGE_SIZE)]).toEqual([4, 200, 0]);
  });

  it('reads a slot never set as 0 for numbers and undefined for values', () => {
    const numbers = PagedArray.float64();
    const values = PagedArray.values<string>();
    numbers.set(1, 9);
    values.set(1, 'x');
    expect([numbers.get(0), numbers.get(5 * PAGE_SIZE), values.get(0), values.get(5 * PAGE_SIZE)]).toEqual([
      0,
      0,
      undefined,
      undefined,
    ]);
  });

  it('keeps what its page kind holds: float64 fractions, int32 and uint8 wrap', () => {
    const float64 = PagedArray.float64();
    const int32 = PagedArray.int32();
    const uint8 = PagedArray.uint8();
    float64.set(0, 2 ** 53 - 1);
    int32.set(0, 2 ** 31);
    uint8.set(0, 257);
    expect([float64.get(0), int32.get(0), uint8.get(0)]).toEqual([2 ** 53 - 1, -(2 ** 31), 1]);
  });

  it('gives back the pages beyond a shorter length when truncated', () => {
    const array = PagedArray.float64();
    for (let i = 0; i < 3 * PAGE_SIZE; i++) array.set(i, 1);
    array.truncate(PAGE_SIZE + 1);
    expect([array.pageCount, array.get(PAGE_SIZE), array.get(2 * PAGE_SIZE)]).toEqual([2, 1, 0]);
  });

  it('moves every slot down a page when the first page is dropped', () => {
    const array = PagedArray.values<number>();
    for (let i = 0; i < 2 * PAGE_SIZE; i++) array.set(i, i);
    array.dropFirstPage();
    expect([array.pageCount, array.get(0), array.get(PAGE_SIZE - 1), array.get(PAGE_SIZE)]).toEqual([
      1,
      PAGE_SIZE,
      2 * PAGE_SIZE - 1,
      undefined,
    ]);
  });

  it('gives back every page when cleared', () => {
    const array = PagedArray.float64();
    array.set(2 * PAGE_SIZE, 4);
    array.clear();
    expect([array.pageCount, array.get(2 * PAGE_SIZE)]).toEqual([0, 0]);
  });

  /** One step of the property below: each is applied to the paged array and to a plain array model of it. */
  type Step =
    | { kind: 'set'; index: number; value: number }
    | { kind: 'truncate'; length: number }
    | { kind: 'dropFirstPage' }
    | { kind: 'clear' };

  /** Indexes within four pages, biased to the slots around page boundaries where the paging could go wrong. */
  const indexArb = fc.oneof(
    fc.nat(4 * PAGE_SIZE - 1),
    fc
      .tuple(fc.nat(3), fc.integer({ min: -2, max: 1 }))
      .map(([page, offset]) => Math.max(0, page * PAGE_SIZE + offset)),
  );
  const stepArb: fc.Arbitrary<Step> = fc.oneof(
    {
      weight: 8,
      arbitrary: fc.record({ kind: fc.constant('set' as const), index: indexArb, value: fc.integer() }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), length: indexArb }) },
    { weight: 1, arbitrary: fc.constant({ kind: 'dropFirstPage' as const }) },
    { weight: 1, arbitrary: fc.constant({ kind: 'clear' as const }) },
  );

  it('reads as a plain array given the same sets, truncations, first-page drops and clears (300 runs)', () => {
    fc.assert(
      fc.property(
        fc.array(stepArb, { maxLength: 60 }),
        fc.array(indexArb, { maxLength: 40 }),
        (steps, probes) => {
          const array = PagedArray.int32();
          /** The model: a sparse plain array whose holes read as 0; the pages it spans are the pages expected. */
          let model: number[] = [];
          for (const step of steps) {
            if (step.kind === 'set') {
              array.set(step.index, step.value);
              model[step.index] = step.value;
            } else if (step.kind === 'truncate') {
              array.truncate(step.length);
              model.length = Math.min(model.length, Math.ceil(step.length / PAGE_SIZE) * PAGE_SIZE);
            } else if (step.kind === 'dropFirstPage') {
              array.dropFirstPage();
              model = model.slice(PAGE_SIZE);
            } else {
              array.clear();
              model = [];
            }
          }
          // Every slot the model spans and the probes beyond it; compared in one expect (an expect per slot is slow).
          const mismatches: number[] = [];
          for (const index of [...model.keys(), ...probes]) {
            if (array.get(index) !== (model[index] ?? 0)) mismatches.push(index);
          }
          expect(mismatches).toEqual([]);
          expect(array.pageCount).toBe(Math.ceil(model.length / PAGE_SIZE));
        },
      ),
      { numRuns: 300 },
    );
  });
});
