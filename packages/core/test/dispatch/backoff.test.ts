import { backoffMillis } from '@meterkit/core/sink';
import { describe, expect, it } from 'vitest';

describe('backoffMillis', () => {
  it('draws uniformly below base·2^(attempt−1)', () => {
    expect([1, 2, 3, 4].map((attempt) => backoffMillis(attempt, 1_000, 1_000_000, () => 0.5))).toEqual([
      500, 1_000, 2_000, 4_000,
    ]);
  });

  it('can be zero (full jitter)', () => {
    expect(backoffMillis(5, 1_000, 60_000, () => 0)).toBe(0);
  });

  it('never exceeds the maximum, however many attempts', () => {
    expect(backoffMillis(1_000, 1_000, 60_000, () => 0.999_999)).toBeLessThan(60_000);
    expect(backoffMillis(1_000, 1_000, 60_000, () => 0.999_999)).toBeGreaterThan(59_000);
  });
});
