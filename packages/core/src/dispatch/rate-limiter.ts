/** Keeps calls under the service's quota: at most N call starts in any one-second window of the injected clock. */
import type { Clock } from '../time/clock.js';

const WINDOW_MILLIS = 1_000;

/**
 * At most `callsPerSecond` calls in any 1-second window of the injected clock. AWS's quota is a rate per account and
 * region; a token bucket that starts full lets almost twice the rate through in one second (the burst, then the
 * refill), so this keeps the start times of the last `callsPerSecond` calls instead. A shared store's submitter lease
 * keeps replicas from each spending the whole quota.
 */
export class SlidingWindowLimiter {
  /** Start times of the last `callsPerSecond` calls, as a ring; `oldest` indexes the earliest. */
  private readonly starts: number[];
  private oldest = 0;

  constructor(
    callsPerSecond: number,
    private readonly clock: Clock,
  ) {
    this.starts = new Array<number>(callsPerSecond).fill(Number.NEGATIVE_INFINITY);
  }

  /** Takes a slot if a call may start now. */
  tryTake(): boolean {
    const now = this.clock.now();
    if (now - this.oldestStart(now) < WINDOW_MILLIS) return false;
    this.starts[this.oldest] = now;
    this.oldest = (this.oldest + 1) % this.starts.length;
    return true;
  }

  /** Milliseconds until a call may start (0 when one may now). */
  waitMillis(): number {
    const now = this.clock.now();
    return Math.max(0, this.oldestStart(now) + WINDOW_MILLIS - now);
  }

  /** Holds every call back for a full window: the service said we are over quota, whatever our own count says. */
  drain(): void {
    this.starts.fill(this.clock.now());
  }

  /** A clock that stepped back must not stall sending for longer than one window. */
  private oldestStart(now: number): number {
    return Math.min(this.starts[this.oldest] ?? Number.NEGATIVE_INFINITY, now);
  }
}
