/** Length of the service's billing window: AWS keeps one record per key and UTC hour. */
export const HOUR_MILLIS = 3_600_000;

/** Start (epoch ms) of the UTC hour containing `epochMillis`. */
export function hourStartOf(epochMillis: number): number {
  return epochMillis - (((epochMillis % HOUR_MILLIS) + HOUR_MILLIS) % HOUR_MILLIS);
}

/** ISO-8601 form of an hour start, for logs and ids: `2026-11-26T06:00Z`. */
export function formatHour(hourStart: number): string {
  return `${new Date(hourStart).toISOString().slice(0, 13)}:00Z`;
}

/**
 * The service's month-end rule: usage for a month is refused after `cutoffHourUtc` (06:00) on the 1st of the
 * next month, even inside the rolling window. Returns the instant after which `hourStart` can no longer be sent.
 */
export function monthEndCutoff(hourStart: number, cutoffHourUtc: number): number {
  const d = new Date(hourStart);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1, cutoffHourUtc);
}
