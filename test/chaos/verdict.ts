/** Compares what the emulator billed with what the traffic log says was served, allowing only a killed replica's last checkpoint. */
import type { BilledRecord, CallRecord } from '@meterkit/emulator';
import { customerIndexOf } from './customers.mjs';
import type { ServedRequest } from './traffic.js';

/** A replica killed with SIGKILL: its name and the real time window in which its counts may have been lost. */
export interface Kill {
  readonly replica: string;
  /** Real epoch ms from which what it counted may be lost (see `ReplicaProcess.kill`). */
  readonly lossFrom: number;
  /** Real epoch ms when the harness saw the process gone. */
  readonly gone: number;
}

/** What the harness's own log says one (customer, dimension) may be billed. */
export interface Expected {
  /** Units of 2xx answers. */
  served: number;
  /** Units of requests whose connection died with a killed replica: served or not, nobody can say. */
  uncertain: number;
  /** Units the killed replica served within its last checkpoint window: they may be lost with it. */
  mayBeLost: number;
}

export const keyOf = (customer: number, dimension: string) => `customer ${customer} / ${dimension}`;

/**
 * Per (customer, dimension): served units, and the bounds a kill allows. A killed replica loses what it counted after
 * its last completed checkpoint: everything it answered between the kill's `lossFrom` and its death may be lost,
 * and requests whose connection died with it may have been counted or not.
 */
export function expectedUsage(log: readonly ServedRequest[], kills: readonly Kill[]) {
  const expected = new Map<string, Expected>();
  for (const request of log) {
    const key = keyOf(request.customer, request.dimension);
    let entry = expected.get(key);
    if (entry === undefined) {
      entry = { served: 0, uncertain: 0, mayBeLost: 0 };
      expected.set(key, entry);
    }
    const kill = kills.find(
      (k) => k.replica === request.replica && request.at >= k.lossFrom && request.at <= k.gone + 50,
    );
    if (request.ok) {
      entry.served += request.units;
      if (kill !== undefined) entry.mayBeLost += request.units;
    } else if (request.failed && kill !== undefined) {
      entry.uncertain += request.units;
    }
  }
  return expected;
}

/** Units billed per (customer, dimension), summed over hours. */
export function billedUsage(records: readonly BilledRecord[]): Map<string, number> {
  const billed = new Map<string, number>();
  for (const record of records) {
    const key = keyOf(customerIndexOf(record), record.dimension);
    billed.set(key, (billed.get(key) ?? 0) + record.quantity);
  }
  return billed;
}

/** Every way the billing departs from what was served, first differing key first; empty when exact. */
export function findProblems(
  expected: Map<string, Expected>,
  billed: Map<string, number>,
  records: readonly BilledRecord[],
) {
  const problems: string[] = [];
  const keys = [...new Set([...expected.keys(), ...billed.keys()])].sort();
  for (const key of keys) {
    const e = expected.get(key) ?? { served: 0, uncertain: 0, mayBeLost: 0 };
    const b = billed.get(key) ?? 0;
    if (b > e.served + e.uncertain) {
      problems.push(
        `${key}: billed ${b} but served ${e.served} (+${e.uncertain} uncertain): over-billed by ${b - e.served - e.uncertain}`,
      );
    } else if (e.served - b > e.mayBeLost) {
      problems.push(
        `${key}: served ${e.served} but billed ${b}: ${e.served - b} lost, more than the ${e.mayBeLost} a kill may lose`,
      );
    }
  }
  const slots = new Set<string>();
  for (const r of records) {
    const slot = `${r.licenseArn ?? r.productCode}|${r.customerIdentifier ?? r.customerAWSAccountId}|${r.dimension}|${r.hourStartMillis}`;
    if (slots.has(slot)) problems.push(`${slot}: billed twice`);
    slots.add(slot);
    if (r.conflictingResends > 0) {
      problems.push(
        `${slot}: ${r.conflictingResends} other quantities sent for a key and hour already billed (DuplicateRecord)`,
      );
    }
  }
  return problems;
}

/** The run's figures, for the log. */
export function figures(
  log: readonly ServedRequest[],
  records: readonly BilledRecord[],
  calls: readonly CallRecord[],
) {
  const batch = calls.filter((c) => c.operation === 'BatchMeterUsage');
  const sent = batch.reduce((sum, c) => sum + (c.recordCount ?? 0), 0);
  return {
    requests: log.length,
    served: log.filter((r) => r.ok).length,
    'units served': log.filter((r) => r.ok).reduce((sum, r) => sum + r.units, 0),
    'units billed': records.reduce((sum, r) => sum + r.quantity, 0),
    'records billed': records.length,
    'hours billed': new Set(records.map((r) => r.hourStartMillis)).size,
    calls: batch.length,
    throttles: batch.filter((c) => c.errorType === 'ThrottlingException').length,
    'server errors': batch.filter((c) => c.fault === 'internal-error').length,
    'answers lost': batch.filter((c) => c.fault === 'drop-response').length,
    'records unprocessed': batch.reduce((sum, c) => sum + (c.unprocessedCount ?? 0), 0),
    'records resent': Math.max(0, sent - records.length),
  };
}
