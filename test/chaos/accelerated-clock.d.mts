import type { Clock, TimerHandle, Timers } from '@meterkit/core';

export interface AcceleratedClockSettings {
  /** Simulated epoch milliseconds at `realOrigin`. */
  readonly epoch: number;
  /** Real epoch milliseconds at which simulated time was `epoch`. */
  readonly realOrigin: number;
  /** Simulated milliseconds per real millisecond. */
  readonly speed: number;
}

/** Simulated time running `speed` times faster than real time, shared by every process of a chaos run. */
export declare class AcceleratedClock implements Clock, Timers {
  readonly epoch: number;
  readonly realOrigin: number;
  readonly speed: number;
  constructor(settings: AcceleratedClockSettings);
  toEnv(): Record<'CHAOS_CLOCK_EPOCH' | 'CHAOS_CLOCK_ORIGIN' | 'CHAOS_CLOCK_SPEED', string>;
  static fromEnv(env: Record<string, string | undefined>): AcceleratedClock;
  now(): number;
  realMillisUntil(epochMillis: number): number;
  setTimeout(callback: () => void, delayMillis: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}
