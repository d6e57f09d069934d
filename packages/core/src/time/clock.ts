/** Where time comes from. Injected everywhere so tests move time by hand instead of sleeping. */
export interface Clock {
  now(): number;
}

/** An opaque handle returned by {@link Timers.setTimeout}. */
export type TimerHandle = { readonly __timer?: never } | object;

/**
 * Timer seam. Implementations must not keep the process alive (the system one `unref()`s): metering alone never holds
 * a process open. A drain (`shutdown()`, `forceFlush()`) holds it open for exactly its own duration with
 * {@link holdProcessOpen}, so its retry sleeps and rate-limit waits are not cut short by an empty event loop.
 */
export interface Timers {
  setTimeout(callback: () => void, delayMillis: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

export const systemClock: Clock = { now: () => Date.now() };

export const systemTimers: Timers = {
  setTimeout(callback, delayMillis) {
    const handle = setTimeout(callback, Math.max(0, delayMillis));
    handle.unref();
    return handle;
  },
  clearTimeout(handle) {
    clearTimeout(handle as NodeJS.Timeout);
  },
};

/**
 * Keeps the Node process alive until the returned function is called (a ref'd handle that never fires). Idempotent
 * release.
 */
export function holdProcessOpen(): () => void {
  const handle = setInterval(() => undefined, 2 ** 31 - 1);
  return () => clearInterval(handle);
}

/** Lets other callbacks run: used between slices of large seal and drain passes. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Waits `delayMillis` on the given timers. */
export function sleep(timers: Timers, delayMillis: number): Promise<void> {
  return new Promise((resolve) => timers.setTimeout(resolve, delayMillis));
}
