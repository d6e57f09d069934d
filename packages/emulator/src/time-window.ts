/**
 * Timestamp window rules. A record is refused when it is older than the window, when it is further in
 * the future than the allowed skew (an assumption: AWS documents no limit), or when it belongs to a
 * previous month and the current time is past 06:00 UTC on the 1st (the month-end rule of the 24 h
 * window; shorter windows can never reach it).
 */

const HOUR = 3_600_000;

/** Start of the UTC hour containing `millis`. */
export function floorHour(millis: number): number {
  return Math.floor(millis / HOUR) * HOUR;
}

/** Start of the UTC month containing `millis`. */
export function startOfMonth(millis: number): number {
  const d = new Date(millis);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}

/** Why a timestamp is outside the window, or `undefined` when it is inside. */
export function timestampProblem(
  timestampMillis: number,
  nowMillis: number,
  windowMillis: number,
  futureSkewMillis: number,
): string | undefined {
  if (timestampMillis > nowMillis + futureSkewMillis) {
    return `is more than ${futureSkewMillis / 1000} s in the future`;
  }
  if (nowMillis - timestampMillis >= windowMillis) {
    return `is ${windowMillis / HOUR} h or more in the past`;
  }
  const monthStart = startOfMonth(nowMillis);
  if (timestampMillis < monthStart && nowMillis >= monthStart + 6 * HOUR) {
    return 'belongs to a previous month, closed at 06:00 UTC on the 1st';
  }
  return undefined;
}
