// A clock and timers shared by every process of a chaos run: simulated time runs `speed` times faster than real
// time from a common origin, so separate processes agree on the simulated time without talking to each other.
// Plain JavaScript because the replicas are plain Node processes; types are in accelerated-clock.d.mts.

/** Real time in epoch milliseconds with sub-millisecond precision, the same origin in every process. */
function realNow() {
  return performance.timeOrigin + performance.now();
}

/**
 * simulated = epoch + (real - realOrigin) * speed; a timer of `delay` simulated milliseconds fires after
 * `delay / speed` real ones. Implements core's `Clock` and `Timers`; timers are unref'ed like core's own.
 */
export class AcceleratedClock {
  /**
   * @param {{ epoch: number, realOrigin: number, speed: number }} settings
   */
  constructor({ epoch, realOrigin, speed }) {
    if (!(speed > 0)) throw new Error(`AcceleratedClock: speed must be positive, got ${speed}`);
    this.epoch = epoch;
    this.realOrigin = realOrigin;
    this.speed = speed;
  }

  /** Settings to hand to another process (through the environment). */
  toEnv() {
    return {
      CHAOS_CLOCK_EPOCH: String(this.epoch),
      CHAOS_CLOCK_ORIGIN: String(this.realOrigin),
      CHAOS_CLOCK_SPEED: String(this.speed),
    };
  }

  /** The clock another process described with {@link toEnv}. */
  static fromEnv(env) {
    return new AcceleratedClock({
      epoch: Number(env.CHAOS_CLOCK_EPOCH),
      realOrigin: Number(env.CHAOS_CLOCK_ORIGIN),
      speed: Number(env.CHAOS_CLOCK_SPEED),
    });
  }

  now() {
    return Math.floor(this.epoch + (realNow() - this.realOrigin) * this.speed);
  }

  /** Real milliseconds until simulated time reaches `epochMillis` (0 when it has). */
  realMillisUntil(epochMillis) {
    return Math.max(0, (epochMillis - this.now()) / this.speed);
  }

  setTimeout(callback, delayMillis) {
    const handle = setTimeout(callback, Math.max(0, delayMillis) / this.speed);
    handle.unref();
    return handle;
  }

  clearTimeout(handle) {
    clearTimeout(handle);
  }
}
