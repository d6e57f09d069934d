// Tests for the slot list: a stack and a queue of slots across page boundaries.
import { describe, expect, it } from 'vitest';
import { SlotList } from '../../src/memory-store/slot-list.js';

/** More than two chunks' worth, so every test crosses chunk boundaries. */
const MANY = 10_000;

describe('SlotList', () => {
  it('pops entries last in, first out', () => {
    const list = new SlotList();
    for (let i = 0; i < MANY; i++) list.push(i);
    const popped: number[] = [];
    for (let slot = list.pop(); slot >= 0; slot = list.pop()) popped.push(slot);
    expect(popped).toEqual(Array.from({ length: MANY }, (_, i) => MANY - 1 - i));
  });

  it('shifts entries first in, first out', () => {
    const list = new SlotList();
    for (let i = 0; i < MANY; i++) list.push(i);
    const shifted: number[] = [];
    for (let slot = list.shift(); slot >= 0; slot = list.shift()) shifted.push(slot);
    expect(shifted).toEqual(Array.from({ length: MANY }, (_, i) => i));
  });

  it('shows the first entry without removing it', () => {
    const list = new SlotList();
    list.push(7);
    list.push(8);
    expect([list.first(), list.size]).toEqual([7, 2]);
  });

  it('answers -1 when empty', () => {
    const list = new SlotList();
    list.push(1);
    list.shift();
    expect([list.pop(), list.shift(), list.first()]).toEqual([-1, -1, -1]);
  });

  it('keeps its order when pushes and shifts interleave across chunks', () => {
    const list = new SlotList();
    const expected: number[] = [];
    const got: number[] = [];
    for (let i = 0; i < MANY; i++) {
      list.push(i);
      expected.push(i);
      if (i % 3 === 0) got.push(list.shift());
    }
    for (let slot = list.shift(); slot >= 0; slot = list.shift()) got.push(slot);
    expect(got).toEqual(expected);
  });
});
