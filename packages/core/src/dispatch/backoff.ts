/**
 * Exponential backoff with full jitter: a uniform delay in [0, min(max, base·2^(attempt−1))]. Full jitter spreads the
 * retries of many records (and replicas) so they do not hit the quota together.
 */
export function backoffMillis(
  attempt: number,
  baseMillis: number,
  maxMillis: number,
  random: () => number,
): number {
  const ceiling = Math.min(maxMillis, baseMillis * 2 ** Math.min(30, Math.max(0, attempt - 1)));
  return Math.floor(random() * ceiling);
}
