/**
 * The emulator's clock: a base time source (the `now` option, `Date.now` by default) plus an offset that
 * tests move with {@link EmulatorClock.set} and {@link EmulatorClock.advance}. Keeping an offset rather
 * than a frozen value means time still flows when the base source is the wall clock, so the throttling
 * quota refills in long-running demos while tests that inject a fixed `now` stay fully deterministic.
 */
export class EmulatorClock {
  readonly #source: () => number;
  #offsetMillis = 0;

  constructor(source: () => number = Date.now) {
    this.#source = source;
  }

  /** Current emulator time, in epoch milliseconds. */
  now(): number {
    return this.#source() + this.#offsetMillis;
  }

  /** Makes {@link EmulatorClock.now} return `nowMillis` at this instant. */
  set(nowMillis: number): void {
    this.#offsetMillis = nowMillis - this.#source();
  }

  /** Moves the clock forward (or backward, with a negative value) by `millis`. */
  advance(millis: number): void {
    this.#offsetMillis += millis;
  }

  /** Drops any offset set through {@link EmulatorClock.set} or {@link EmulatorClock.advance}. */
  reset(): void {
    this.#offsetMillis = 0;
  }
}
