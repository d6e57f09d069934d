// The queue between the tally and the store: slices pass through, outages merge by key, hour and tag set, resends stay
// identical.
import { describe, expect, it } from 'vitest';
import { UnwrittenDeltas } from '../../src/engine/unwritten-deltas.js';

const H0 = Date.UTC(2026, 10, 26, 10);
const delta = (keyId: string, quantity: number, hourStart = H0) => ({ keyId, hourStart, quantity });

describe('UnwrittenDeltas', () => {
  it('hands out each drained slice as it is while the store answers', () => {
    const queue = new UnwrittenDeltas();
    const slice = [delta('a', 1)];
    queue.push(slice);
    expect(queue.next(1_000)).toBe(slice);
  });

  it('resends a batch the store did not confirm as the very same array', () => {
    const queue = new UnwrittenDeltas();
    const slice = [delta('a', 1)];
    queue.push(slice);
    queue.next(1_000);
    queue.storeFailed();
    queue.push([delta('a', 5)]);
    expect(queue.next(1_000)).toBe(slice);
  });

  it('merges deltas queued during an outage by key and hour', () => {
    const queue = new UnwrittenDeltas();
    queue.storeFailed();
    for (let i = 0; i < 100; i++) queue.push([delta('a', 1), delta('b', 2), delta('a', 1, H0 + 3_600_000)]);
    expect(queue.size).toBe(3);
    expect(queue.next(1_000)).toEqual([delta('a', 100), delta('b', 200), delta('a', 100, H0 + 3_600_000)]);
  });

  it('merges tagged deltas during an outage per key, hour and tag set, keeping each tag set', () => {
    const queue = new UnwrittenDeltas();
    const alpha = '[["project","alpha"]]';
    const beta = '[["project","beta"]]';
    queue.storeFailed();
    for (let i = 0; i < 10; i++) {
      queue.push([
        delta('a', 1),
        { ...delta('a', 2), tags: alpha },
        { ...delta('a', 3), tags: beta },
        { ...delta('a', 4), tags: alpha },
      ]);
    }
    expect(queue.size).toBe(3);
    expect(queue.next(1_000)).toEqual([
      delta('a', 10),
      { ...delta('a', 60), tags: alpha },
      { ...delta('a', 30), tags: beta },
    ]);
  });

  it('treats an empty tag set as untagged when merging', () => {
    const queue = new UnwrittenDeltas();
    queue.storeFailed();
    queue.push([delta('a', 1), { ...delta('a', 2), tags: '' }]);
    expect(queue.next(1_000)).toEqual([delta('a', 3)]);
  });

  it('starts a new entry rather than sum past 2^53 - 1', () => {
    const queue = new UnwrittenDeltas();
    queue.storeFailed();
    queue.push([delta('a', Number.MAX_SAFE_INTEGER - 1)]);
    queue.push([delta('a', 3)]);
    const first = queue.next(1_000) ?? [];
    queue.written(first);
    const second = queue.next(1_000) ?? [];
    expect([...first, ...second].map((d) => d.quantity)).toEqual([Number.MAX_SAFE_INTEGER - 1, 3]);
  });

  it('goes back to passing slices through once the backlog is written', () => {
    const queue = new UnwrittenDeltas();
    queue.storeFailed();
    queue.push([delta('a', 1)]);
    queue.written(queue.next(1_000) as never);
    expect(queue.next(1_000)).toBeUndefined();
    const slice = [delta('b', 1)];
    queue.push(slice);
    expect(queue.next(1_000)).toBe(slice);
    expect(queue.size).toBe(1);
  });
});
