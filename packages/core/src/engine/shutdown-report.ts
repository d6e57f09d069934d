/** What a shutdown leaves unbilled, where it is, and the log lines and exit code that say so. */
import { keyFromId } from '../model/usage-key.js';

/**
 * Usage not billed when `shutdown()` returned, counted by where it stands. Every field is zero after a complete drain.
 * - `openUnits`: counted, never sealed (the open hour, with a store that keeps it for the next start);
 * - `carriedUnits`: AWS already held another record for their key and hour (`DuplicateRecord`), so they moved to the
 *   next hour, which had not closed yet;
 * - `unsentRecords` / `unsentUnits`: sealed, never billed (refused, throttled, unreachable, or not tried in time);
 * - `unansweredRecords` / `unansweredUnits`: sent, but the answer was lost (5xx, network, timeout): AWS **may have
 *   billed** them; check before billing them again;
 * - `unwrittenUnits`: counted, but the store refused them (store down).
 */
export interface UsageLeftAtShutdown {
  /**
   * `lost`: the memory store; this usage ends with the process. `kept`: a store that outlives the process holds it;
   * the next start (or another replica) bills it.
   */
  readonly fate: 'lost' | 'kept';
  readonly openUnits: number;
  readonly carriedUnits: number;
  readonly unsentRecords: number;
  readonly unsentUnits: number;
  readonly unansweredRecords: number;
  readonly unansweredUnits: number;
  readonly unwrittenUnits: number;
  /** Distinct customers the records above (unsent, unanswered, carried) belong to. */
  readonly customers: number;
  /** The store, named for a log line: `memory store`, `sqlite store at /var/lib/app/usage.sqlite`. */
  readonly store: string;
}

/** Exit code of a signal handler when usage was left unsent and is lost with the process (see `exitCodeFor`). */
export const UNSENT_USAGE_EXIT_CODE = 3;

/** How to check what AWS holds: named in every report that leaves something unbilled. */
const HOW_TO_CHECK =
  "compare the audit log (engine.options.store.auditLog(), `record.accepted` events) with AWS CloudTrail events named 'BatchMeterUsage' for the hours concerned";

/** Units left, in total (unanswered ones included: they may not have been billed). */
export function unitsLeft(left: UsageLeftAtShutdown): number {
  return left.openUnits + left.carriedUnits + left.unsentUnits + left.unansweredUnits + left.unwrittenUnits;
}

/** True when nothing at all was left: no unit and no record (a record of quantity 0 still matters to AWS). */
export function nothingLeft(left: UsageLeftAtShutdown): boolean {
  return unitsLeft(left) === 0 && left.unsentRecords === 0 && left.unansweredRecords === 0;
}

/**
 * True when billable units left die with the process. Zero-quantity records (heartbeats) left behind are reported but
 * bill nothing, so they alone do not count as a loss.
 */
export function anythingLost(left: UsageLeftAtShutdown): boolean {
  return left.unwrittenUnits > 0 || (left.fate === 'lost' && unitsLeft(left) > 0);
}

/** The customer part of a key id (the key without its product and dimension). */
export function customerOfKey(keyId: string): string {
  const key = keyFromId(keyId);
  return key.licenseArn !== undefined
    ? `${key.awsAccountId}\n${key.licenseArn}`
    : `${key.customerIdentifier}`;
}

/** The one-line summary logged at every shutdown. */
export function summaryLine(sent: { records: number; units: number }, left: UsageLeftAtShutdown): string {
  const total = unitsLeft(left);
  const head = `shutdown: ${sent.records} record(s) (${sent.units} unit(s)) billed during the drain`;
  if (nothingLeft(left)) return `${head}; nothing left unbilled`;
  const certain = total - left.unansweredUnits;
  const where =
    left.fate === 'kept'
      ? `kept in the ${left.store} for the next start`
      : certain > 0
        ? 'LOST with this process (memory store)'
        : 'not resendable from the memory store; they may have been billed';
  const lost =
    left.fate === 'kept' && left.unwrittenUnits > 0
      ? ` (${left.unwrittenUnits} of them LOST: never written to the store)`
      : '';
  return `${head}; ${total} unit(s) left (open ${left.openUnits}, carried ${left.carriedUnits}, unsent ${left.unsentUnits}, sent without answer ${left.unansweredUnits}), ${where}${lost}`;
}

/** The error line for usage a shutdown leaves unbilled: units by kind, customers counted (never named), and how to check. */
export function leftLine(left: UsageLeftAtShutdown): string {
  const parts: string[] = [];
  if (left.openUnits > 0) parts.push(`${left.openUnits} unit(s) in the open hour`);
  if (left.carriedUnits > 0)
    parts.push(`${left.carriedUnits} unit(s) carried into an hour not closed yet (AWS held another record)`);
  if (left.unsentUnits > 0 || left.unsentRecords > 0)
    parts.push(`${left.unsentUnits} unit(s) in ${left.unsentRecords} sealed record(s) never billed`);
  if (left.unwrittenUnits > 0 && left.fate === 'lost')
    parts.push(`${left.unwrittenUnits} unit(s) the store never accepted`);
  const customers = `${left.customers} customer(s)`;
  const certain = parts.length > 0 ? `${parts.join(', ')} (${customers})` : '';
  const unanswered =
    left.unansweredRecords > 0
      ? `${left.unansweredUnits} unit(s) in ${left.unansweredRecords} record(s) were sent but their answer was lost: they MAY HAVE BEEN BILLED`
      : '';
  const what = [certain, unanswered].filter((p) => p !== '').join('; ');
  if (left.fate === 'kept') {
    const unwritten =
      left.unwrittenUnits > 0
        ? ` But ${left.unwrittenUnits} unit(s) the store never accepted (it was failing) are LOST with this process.`
        : '';
    return `shutdown: ${what}. They are kept in the ${left.store} and billed by the next start (or another replica); unanswered records are resent identically, which AWS deduplicates.${unwritten}`;
  }
  const fate =
    certain === ''
      ? 'The memory store keeps nothing, so they cannot be resent after this process'
      : `The memory store keeps nothing: this usage is lost with the process${
          left.unansweredRecords > 0 ? ' (the unanswered records only if AWS did not commit them)' : ''
        }`;
  return `shutdown: ${what}. ${fate}. To check what AWS billed, ${HOW_TO_CHECK}. Use the SQLite store (the adapters' default) or @meterkit/redis to keep usage across restarts`;
}

/**
 * The exit code a signal handler should end the process with after this shutdown: `UNSENT_USAGE_EXIT_CODE` when usage
 * was left unbilled and is lost (the memory store), `undefined` when everything was billed or is kept for the next
 * start (end the process the usual way, e.g. by re-raising the signal).
 */
export function exitCodeFor(report: { left?: UsageLeftAtShutdown | undefined }): number | undefined {
  const left = report.left;
  return left !== undefined && anythingLost(left) ? UNSENT_USAGE_EXIT_CODE : undefined;
}
