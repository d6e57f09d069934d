// The instant after which the service refuses a record of a given hour (rolling window or month-end cut-off).
import { monthEndCutoff } from '../time/hours.js';

/** The service's acceptance window, as the engine options state it. */
export interface ServiceWindow {
  /** How long after its hour starts a record is accepted. @default 86_400_000 (24 h) */
  readonly serviceWindowMillis: number;
  /** Hour (UTC) on the 1st after which last month's usage is refused; null turns the rule off. @default 6 */
  readonly monthEndCutoffHourUtc: number | null;
}

export const defaultServiceWindow: ServiceWindow = {
  serviceWindowMillis: 86_400_000,
  monthEndCutoffHourUtc: 6,
};

/** The first instant at which the service no longer accepts a record stamped `hourStart`. */
export function windowClosesAt(hourStart: number, window: ServiceWindow): number {
  const rolling = hourStart + window.serviceWindowMillis;
  if (window.monthEndCutoffHourUtc === null) return rolling;
  return Math.min(rolling, monthEndCutoff(hourStart, window.monthEndCutoffHourUtc));
}
