// Tests for an open hour: running totals by key, taken in arrival order, capped at 2^53 - 1.
import { describe, expect, it } from 'vitest';
import { OpenHour } from '../../src/memory-store/open-hour.js';

function takeAll(hour: OpenHour): [string, number][] {
  const taken: [string, number][] = [];
  for (let p = hour.takeEarliest(); p >= 0; p = hour.takeEarliest())
    taken.push([hour.keyIdAt(p), hour.totalAt(p)]);
  return taken;
}

describe('OpenHour', () => {
  it('sums every quantity added for a key into one total', () => {
    const hour = new OpenHour();
    hour.add('a', 2);
    hour.add('a', 5);
    expect(takeAll(hour)).toEqual([['a', 7]]);
  });

  it('counts a key once however often it is added', () => {
    const hour = new OpenHour();
    expect([hour.add('a', 1), hour.add('a', 1), hour.add('b', 1)]).toEqual([0, 0, 0]);
    expect(hour.size).toBe(2);
  });

  it('stops a total at 2^53 - 1 and returns what did not fit, exactly', () => {
    const hour = new OpenHour();
    hour.add('a', Number.MAX_SAFE_INTEGER - 1);
    expect(hour.add('a', 3)).toBe(2);
    expect(hour.totalAt(0)).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('hands out its entries in arrival order', () => {
    const hour = new OpenHour();
    for (const key of ['c', 'a', 'b']) hour.add(key, 1);
    hour.add('c', 1);
    expect(takeAll(hour).map(([key]) => key)).toEqual(['c', 'a', 'b']);
  });

  it('hands out a key added while taking after every earlier one', () => {
    const hour = new OpenHour();
    hour.add('a', 1);
    hour.add('b', 1);
    hour.takeEarliest();
    hour.add('c', 3);
    expect(takeAll(hour)).toEqual([
      ['b', 1],
      ['c', 3],
    ]);
  });

  it('counts the keys not taken yet', () => {
    const hour = new OpenHour();
    for (const key of ['a', 'b', 'c']) hour.add(key, 1);
    hour.takeEarliest();
    expect(hour.size).toBe(2);
  });

  it('keeps one total per key over many keys', () => {
    const hour = new OpenHour();
    for (let round = 0; round < 2; round++) for (let i = 0; i < 5_000; i++) hour.add(`key-${i}`, i);
    const taken = takeAll(hour);
    expect(taken).toHaveLength(5_000);
    expect(taken.every(([key, total]) => total === 2 * Number(key.slice(4)))).toBe(true);
  });
});
