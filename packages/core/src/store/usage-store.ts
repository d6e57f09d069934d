/** The UsageStore contract: where usage lives between the tally and the sink, and the shapes that cross it. */
import type { UsageRecord } from '../model/usage-key.js';

/** Usage counted for one key in one hour, on its way from the tally into a store. */
export interface UsageDelta {
  readonly keyId: string;
  readonly hourStart: number;
  readonly quantity: number;
  /**
   * The tag set the usage was recorded under (`tagSetIdOf`); absent or `''` for untagged usage. A key and hour
   * still seal into one record; its allocations are the sums per tag set.
   */
  readonly tags?: string;
}

/** A sealed record waiting in the outbox, as handed to a submitter under a lease. */
export interface OutboxEntry {
  readonly record: UsageRecord;
  /**
   * How many times the record has been claimed for sending, this claim included. It is counted at claim time, before
   * the call, so a crash between sending and settling still shows the record as possibly sent.
   */
  readonly attempts: number;
  /** The lease token; settlements must carry it. */
  readonly claim: string;
}

export type DeadLetterReason = 'customer-not-subscribed' | 'too-old' | 'rejected' | 'not-billable';

/** A record that will not be billed, with why. Listed, exported and replayed by operators. */
export interface DeadLetter {
  readonly record: UsageRecord;
  readonly reason: DeadLetterReason;
  /** The service's error code or status and message. */
  readonly detail: string;
  readonly at: number;
  readonly attempts: number;
}

/** One accepted record, with the id AWS gave it. */
export interface AuditEntry {
  readonly recordId: string;
  readonly keyId: string;
  readonly hourStart: number;
  readonly quantity: number;
  readonly meteringRecordId: string | undefined;
  readonly acceptedAt: number;
}

/** How a claimed record ended this round. Every settlement names the claim it settles; stale claims are ignored. */
export type Settlement =
  | {
      readonly kind: 'accepted';
      readonly id: string;
      readonly claim: string;
      readonly meteringRecordId: string | undefined;
      readonly at: number;
    }
  | {
      readonly kind: 'retry';
      readonly id: string;
      readonly claim: string;
      readonly notBefore: number;
      readonly reason: string;
    }
  | {
      readonly kind: 'dead';
      readonly id: string;
      readonly claim: string;
      readonly reason: DeadLetterReason;
      readonly detail: string;
      readonly at: number;
    }
  /** Someone else billed this key and hour: add the quantity (and its allocations) to the earliest open hour after it. */
  | { readonly kind: 'carry'; readonly id: string; readonly claim: string; readonly at: number };

/** Usage above the per-record maximum, moved from a sealed hour to the next one. */
export interface OverflowCarry {
  readonly keyId: string;
  readonly fromHour: number;
  readonly units: number;
}

/**
 * What one sealing call did, as counts: the sealed records are read back from the outbox (`takeDue`, `pending`), so a
 * store need not build them here.
 */
export interface SealResult {
  /** Records moved into the outbox by this call. */
  readonly sealedRecords: number;
  /**
   * The sum of their quantities. Each record holds at most `MAX_RECORD_QUANTITY` (2^31 − 1), so the sum of one call is
   * an exact number for any `limit` up to 2^22 records; totals past 2^53 exist only in open hours, never here.
   */
  readonly sealedUnits: number;
  /**
   * Totals above the per-record maximum this call cut down to it, with the units it carried into the next hour. The
   * engine reports each as a `usage.overflow-carried` event. Optional for stores written before it existed.
   */
  readonly carried?: readonly OverflowCarry[];
  /** True when closed hours still hold unsealed entries (call again). */
  readonly more: boolean;
  /** Tag sets past the per-record allocation limit, billed in their record's untagged allocation instead. */
  readonly rolledUpTagSets?: number;
}

export interface SettleResult {
  readonly applied: number;
  /** Settlements whose claim had expired or been taken over; ignored. */
  readonly stale: number;
}

export interface StoreStats {
  /** Keys with usage in hours not yet sealed. */
  readonly openKeys: number;
  readonly openUnits: number;
  /** Hours before this instant are closed: new usage for them goes to this hour. */
  readonly closedBefore: number;
  readonly outboxReady: number;
  readonly outboxWaiting: number;
  readonly outboxLeased: number;
  readonly deadLetters: number;
  readonly accepted: number;
}

/**
 * Where usage lives between the tally and AWS. Every method is atomic with respect to every other caller, including
 * other processes for a shared store. Implementations must pass `describeUsageStoreContract` from
 * `@meterkit/core/testing`.
 */
export interface UsageStore {
  /** `process` (memory), `host` (a file), or `shared` (many replicas). */
  readonly scope: 'process' | 'host' | 'shared';
  readonly name: string;
  /** Where the store keeps usage (a file path, a server), for start-up and shutdown lines. No secrets. */
  readonly location?: string;
  open?(): Promise<void>;
  /**
   * Adds usage. A delta for a closed hour goes to the earliest open hour (`closedBefore`). Totals must stay exact: a
   * delta is at most 2^53 − 1, and a total that would pass 2^53 − 1 keeps that much and moves the rest to the next hour.
   */
  addDeltas(deltas: readonly UsageDelta[]): Promise<void>;
  /**
   * Closes every hour starting before `closeBefore` (an hour boundary) and moves up to `limit` of their entries into
   * the outbox as immutable records, oldest hour first. A total above the per-record maximum keeps the maximum and
   * carries the rest into the next hour.
   */
  sealClosedHours(closeBefore: number, limit: number): Promise<SealResult>;
  /**
   * Claims up to `limit` records that are due at `now` (oldest hour first) for `leaseMillis`. A claimed record is not
   * handed out again until settled or until its lease expires.
   */
  takeDue(now: number, limit: number, leaseMillis: number): Promise<OutboxEntry[]>;
  settle(settlements: readonly Settlement[]): Promise<SettleResult>;
  /** Records still in the outbox (ready, waiting or leased), oldest first. */
  pending(limit: number): Promise<UsageRecord[]>;
  deadLetters(limit: number): Promise<DeadLetter[]>;
  /** Moves dead letters back into the outbox, due at `now`. Returns how many moved. */
  requeueDeadLetters(ids: readonly string[], now: number): Promise<number>;
  /** The most recent accepted records, newest last. */
  auditLog(limit: number): Promise<AuditEntry[]>;
  stats(): Promise<StoreStats>;
  close(): Promise<void>;
}
