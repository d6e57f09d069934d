/** A clock and timers that move only when a test says so: deterministic time for tests. */
import type { Clock, TimerHandle, Timers } from '../time/clock.js';

interface PendingTimer {
  readonly id: number;
  readonly at: number;
  readonly callback: () => void;
}

/** Lets promise callbacks and `setImmediate` work run, so async work triggered by a timer can finish. */
export async function settleMicrotasks(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/**
 * A clock and timers moved by hand. Pass it as both `clock` and `timers`; tests advance time instead of sleeping.
 * Timers fire in time order, each at its own instant, with async work given a chance to run in between.
 */
export class ManualClock implements Clock, Timers {
  private current: number;
  private nextId = 1;
  private readonly pending = new Map<number, PendingTimer>();

  /** @param start epoch ms; defaults to 2026-11-26T10:00:00Z. */
  constructor(start = Date.UTC(2026, 10, 26, 10, 0, 0)) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimeout(callback: () => void, delayMillis: number): TimerHandle {
    const timer: PendingTimer = { id: this.nextId++, at: this.current + Math.max(0, delayMillis), callback };
    this.pending.set(timer.id, timer);
    return { id: timer.id };
  }

  clearTimeout(handle: TimerHandle): void {
    this.pending.delete((handle as { id: number }).id);
  }

  /** Timers not yet fired. */
  get pendingTimers(): number {
    return this.pending.size;
  }

  /** Moves time forward by `millis`, firing every timer due on the way. */
  async advance(millis: number): Promise<void> {
    await this.advanceTo(this.current + millis);
  }

  /** Moves time to `epochMillis` (never backwards), firing every timer due on the way. */
  async advanceTo(epochMillis: number): Promise<void> {
    for (;;) {
      await settleMicrotasks();
      const next = this.nextTimer();
      if (next === undefined || next.at > epochMillis) break;
      this.pending.delete(next.id);
      if (next.at > this.current) this.current = next.at;
      next.callback();
    }
    if (epochMillis > this.current) this.current = epochMillis;
    await settleMicrotasks();
  }

  /**
   * Runs timers (moving time to each) until `promise` settles, e.g. a flush waiting on rate limits and backoff.
   * Throws if it has not settled after `maxMillis` of simulated time.
   */
  async run<T>(promise: Promise<T>, maxMillis = 24 * 3_600_000): Promise<T> {
    let settled = false;
    const tracked = promise.finally(() => {
      settled = true;
    });
    tracked.catch(() => undefined);
    const limit = this.current + maxMillis;
    await settleMicrotasks();
    while (!settled) {
      const next = this.nextTimer();
      if (next === undefined || next.at > limit) {
        await settleMicrotasks(20);
        if (settled) break;
        if (next === undefined)
          throw new Error('ManualClock.run: the promise is pending and no timer is left to fire');
        throw new Error(`ManualClock.run: still pending after ${maxMillis} ms of simulated time`);
      }
      await this.advanceTo(next.at);
    }
    return tracked;
  }

  private nextTimer(): PendingTimer | undefined {
    let next: PendingTimer | undefined;
    for (const timer of this.pending.values()) {
      if (next === undefined || timer.at < next.at || (timer.at === next.at && timer.id < next.id))
        next = timer;
    }
    return next;
  }
}
