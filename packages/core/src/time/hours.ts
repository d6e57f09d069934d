/** Length of the service's billing window: AWS keeps one record per key and UTC hour. */
export const HOUR_MILLIS = 3_600_000;

/** Start (epoch ms) of the UTC hour containing `epochMillis`. */
export function hourStartOf(epochMillis: number): number {
  return epochMillis - (((epochMillis % HOUR_MILLIS) + HOUR_MILLIS) % HOUR_MILLIS);
}

/**
 * The last hour formatted. Sealing formats the same hour for every record of it, and `toISOString` per record is a
 * large share of what sealing one costs (see bench/README.md).
 */
let lastFormatted = { hourStart: Number.NaN, text: '' };

/** ISO-8601 form of an hour start, for logs and ids: `2026-11-26T06:00Z`. */
export function formatHour(hourStart: number): string {
  if (hourStart !== lastFormatted.hourStart) {
    lastFormatted = { hourStart, text: `${new Date(hourStart).toISOString().slice(0, 13)}:00Z` };
  }
  return lastFormatted.text;
}

/**
 * The service's month-end rule: usage for a month is refused after `cutoffHourUtc` (06:00) on the 1st of the
 * next month, even inside the rolling window. Returns the instant after which `hourStart` can no longer be sent.
 */
export function monthEndCutoff(hourStart: number, cutoffHourUtc: number): number {
  const d = new Date(hourStart);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1, cutoffHourUtc);
}
