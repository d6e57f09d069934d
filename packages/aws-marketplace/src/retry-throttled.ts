/** Start-up calls (RegisterUsage, the MeterUsage dry run) retry throttling, and nothing else, until a deadline. */
import { backoffMillis } from '@meterkit/core/sink';

/** Time, waiting and jitter for {@link retryThrottled}; injected in tests. */
export interface ThrottleRetrySettings {
  readonly timeoutMillis: number;
  readonly retryBaseMillis: number;
  readonly retryMaxMillis: number;
  readonly now: () => number;
  readonly sleep: (millis: number) => Promise<void>;
  readonly random: () => number;
  readonly onRetry: (attempt: number, delayMillis: number) => void;
}

/** The last throttled attempt, when the deadline leaves no room for another. */
export class ThrottledPastDeadline extends Error {
  override readonly name = 'ThrottledPastDeadline';
  constructor(
    readonly attempts: number,
    options: ErrorOptions,
  ) {
    super(`throttled ${attempts} times`, options);
  }
}

/**
 * Runs `call` until it does not throw `ThrottlingException`, with exponential backoff and full jitter. Any other error
 * is thrown at once.
 * @throws {ThrottledPastDeadline} when the next wait would pass the deadline.
 */
export async function retryThrottled<T>(call: () => Promise<T>, s: ThrottleRetrySettings): Promise<T> {
  const deadline = s.now() + s.timeoutMillis;
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (!(error instanceof Error) || error.name !== 'ThrottlingException') throw error;
      const delay = Math.max(1, backoffMillis(attempt, s.retryBaseMillis, s.retryMaxMillis, s.random));
      if (s.now() + delay > deadline) throw new ThrottledPastDeadline(attempt, { cause: error });
      s.onRetry(attempt, delay);
      await s.sleep(delay);
    }
  }
}

/** `setTimeout` as a promise. */
export const sleep = (millis: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, millis));
