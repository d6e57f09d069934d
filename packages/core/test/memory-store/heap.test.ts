// Tests for the min-heap: items come out in order, however they went in.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MinHeap } from '../../src/memory-store/heap.js';

describe('MinHeap', () => {
  it('pops any mix of pushes and pops in sorted order', () => {
    fc.assert(
      fc.property(fc.array(fc.option(fc.integer({ min: -50, max: 50 }), { nil: undefined })), (ops) => {
        const heap = new MinHeap<number>((a, b) => a < b);
        const model: number[] = [];
        for (const op of ops) {
          if (op === undefined) {
            model.sort((a, b) => a - b);
            expect(heap.pop()).toBe(model.shift());
          } else {
            heap.push(op);
            model.push(op);
          }
          expect(heap.size).toBe(model.length);
        }
        model.sort((a, b) => a - b);
        const drained: number[] = [];
        for (let next = heap.pop(); next !== undefined; next = heap.pop()) drained.push(next);
        expect(drained).toEqual(model);
      }),
      { seed: 20261126, numRuns: 300 },
    );
  });
});
