// What an operator asks first: what is pending and how old, what was refused and why, what was billed last.

import type { DeadLetterReason, StoreStats, UsageStore } from '../store/usage-store.js';
import { formatHour, HOUR_MILLIS } from '../time/hours.js';
import { type ServiceWindow, windowClosesAt } from './service-window.js';

/** Pending records grouped by how long ago their hour started. */
export interface PendingByAge {
  /** Upper bound of the bucket in hours (exclusive); `null` for the last, open-ended one. */
  readonly underHours: number | null;
  readonly records: number;
  readonly units: number;
}

/** A store's state, for `meterkit status`, the admin endpoint and health checks. */
export interface MeteringStatus {
  readonly store: { readonly name: string; readonly scope: UsageStore['scope'] };
  readonly at: number;
  readonly stats: StoreStats;
  /** Keys with usage in hours not yet sealed, and their units. */
  readonly open: { readonly keys: number; readonly units: number };
  readonly pending: {
    readonly records: number;
    readonly units: number;
    readonly byAge: readonly PendingByAge[];
    /** The oldest pending record: its hour, age, and how long the service still accepts it. */
    readonly oldest:
      | {
          readonly recordId: string;
          readonly hour: string;
          readonly ageMillis: number;
          readonly windowLeftMillis: number;
        }
      | undefined;
  };
  readonly deadLetters: {
    readonly total: number;
    readonly byReason: Readonly<Partial<Record<DeadLetterReason, number>>>;
  };
  /** The most recent accepted record, if the store keeps an audit log. */
  readonly lastAccepted: { readonly recordId: string; readonly at: number } | undefined;
}

/** Age buckets (hours) shown by `status`: the service accepts a record for 24 h. */
const AGE_BUCKETS_HOURS = [1, 6, 12, 24] as const;

/** Reads up to this many pending records and dead letters; a store holding more reports totals from its stats. */
export const STATUS_SCAN_LIMIT = 100_000;

/** Reads a store's state at `now` without changing anything. */
export async function readStatus(
  store: UsageStore,
  now: number,
  window: ServiceWindow,
): Promise<MeteringStatus> {
  const [stats, pending, letters, audit] = await Promise.all([
    store.stats(),
    store.pending(STATUS_SCAN_LIMIT),
    store.deadLetters(STATUS_SCAN_LIMIT),
    store.auditLog(1),
  ]);
  const byAge = [...AGE_BUCKETS_HOURS, null].map((underHours) => ({ underHours, records: 0, units: 0 }));
  let units = 0;
  for (const record of pending) {
    units += record.quantity;
    const ageHours = (now - record.hourStart) / HOUR_MILLIS;
    const bucket = byAge.find((b) => b.underHours === null || ageHours < b.underHours) as PendingByAge & {
      records: number;
      units: number;
    };
    bucket.records += 1;
    bucket.units += record.quantity;
  }
  const first = pending[0];
  const byReason: Partial<Record<DeadLetterReason, number>> = {};
  for (const letter of letters) byReason[letter.reason] = (byReason[letter.reason] ?? 0) + 1;
  const last = audit.at(-1);
  return {
    store: { name: store.name, scope: store.scope },
    at: now,
    stats,
    open: { keys: stats.openKeys, units: stats.openUnits },
    pending: {
      records: stats.outboxReady + stats.outboxWaiting + stats.outboxLeased,
      units,
      byAge,
      oldest:
        first === undefined
          ? undefined
          : {
              recordId: first.id,
              hour: formatHour(first.hourStart),
              ageMillis: now - first.hourStart,
              windowLeftMillis: windowClosesAt(first.hourStart, window) - now,
            },
    },
    deadLetters: { total: stats.deadLetters, byReason },
    lastAccepted: last === undefined ? undefined : { recordId: last.recordId, at: last.acceptedAt },
  };
}
