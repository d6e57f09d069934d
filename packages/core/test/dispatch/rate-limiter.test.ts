import { ManualClock } from '@meterkit/core/testing';
import { describe, expect, it } from 'vitest';
import { SlidingWindowLimiter } from '../../src/dispatch/rate-limiter.js';

describe('SlidingWindowLimiter', () => {
  it('lets the rate through at once, then holds the next call until the first leaves the window', async () => {
    const clock = new ManualClock();
    const limiter = new SlidingWindowLimiter(3, clock);
    expect([limiter.tryTake(), limiter.tryTake(), limiter.tryTake(), limiter.tryTake()]).toEqual([
      true,
      true,
      true,
      false,
    ]);
    expect(limiter.waitMillis()).toBe(1_000);
    await clock.advance(999);
    expect(limiter.tryTake()).toBe(false);
    await clock.advance(1);
    expect(limiter.tryTake()).toBe(true);
  });

  it('never lets more than the rate through in any one-second window when callers keep asking', async () => {
    const clock = new ManualClock();
    const limiter = new SlidingWindowLimiter(10, clock);
    const starts: number[] = [];
    for (let step = 0; step < 5_000; step += 7) {
      while (limiter.tryTake()) starts.push(clock.now());
      await clock.advance(7);
    }
    for (const start of starts)
      expect(starts.filter((t) => t >= start && t < start + 1_000).length).toBeLessThanOrEqual(10);
    expect(starts.length).toBeGreaterThanOrEqual(45);
  });

  it('holds every call back for a full second once drained', () => {
    const clock = new ManualClock();
    const limiter = new SlidingWindowLimiter(10, clock);
    limiter.drain();
    expect(limiter.tryTake()).toBe(false);
    expect(limiter.waitMillis()).toBe(1_000);
  });

  it('never waits longer than one window when the clock steps back', () => {
    let now = 10_000;
    const limiter = new SlidingWindowLimiter(1, { now: () => now });
    limiter.tryTake();
    now = 0;
    expect(limiter.waitMillis()).toBe(1_000);
  });
});
