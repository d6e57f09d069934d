/** The UsageSink contract: how the dispatcher hands sealed records to a billing service, and the answers it reads. */
import type { CustomerRef } from '../model/customer.js';
import type { UsageRecord } from '../model/usage-key.js';

/** AWS's answer for one record of a call that went through. */
export type RecordOutcome =
  | { readonly id: string; readonly status: 'success'; readonly meteringRecordId: string | undefined }
  /** Same key and hour as a record AWS already has, with another quantity; not billed. */
  | { readonly id: string; readonly status: 'duplicate' }
  | { readonly id: string; readonly status: 'not-subscribed' }
  /** Not processed this time (transient); send it again, unchanged. */
  | { readonly id: string; readonly status: 'unprocessed' };

/**
 * How a call ended. Expected outcomes are values: a sink never throws for anything the service answers.
 * - `done`: per-record outcomes (a record missing from them is treated as unprocessed);
 * - `retryable`: nothing known to be processed (throttling, 5xx, network, timeout); resend the same records;
 * - `rejected`: the service refused the whole call because of some record in it; the dispatcher bisects;
 * - `failed`: refused for a reason no record can fix (credentials, product code, region); retried later.
 */
export type ExportResponse =
  | { readonly status: 'done'; readonly outcomes: readonly RecordOutcome[] }
  | {
      readonly status: 'retryable';
      readonly reason: 'throttled' | 'server-error' | 'network' | 'timeout';
      readonly code: string;
      readonly message: string;
      readonly retryAfterMillis?: number;
    }
  | {
      readonly status: 'rejected';
      readonly code: string;
      readonly message: string;
      readonly tooOld?: boolean;
    }
  | { readonly status: 'failed'; readonly code: string; readonly message: string };

/** Sends sealed records to the billing service. The AWS one lives in `@meterkit/aws-marketplace`. */
export interface UsageSink {
  readonly name: string;
  /**
   * Most records one call takes (AWS BatchMeterUsage: 25). The dispatcher claims `maxBatchSize × maxConcurrentExports`
   * records per round and lets {@link planBatches} group them.
   */
  readonly maxBatchSize: number;
  /**
   * Groups claimed records into calls: each batch returned is exactly one `export()` call. The sink alone knows what may
   * share a call (AWS: one product and one kind of customer id, at most 25 records, under 1 MB). Every record goes in
   * exactly one batch, in the given order (oldest first) within its batch; any part of a batch must again be a valid
   * call, because the dispatcher splits a call the service refused to find the record at fault.
   * `groupIntoBatches()` from `@meterkit/core/sink` does the grouping for most services.
   */
  planBatches(records: readonly UsageRecord[]): readonly (readonly UsageRecord[])[];
  /** Sends one batch planned by {@link planBatches} (or a part of one) as one call. Must honour `signal`. */
  export(records: readonly UsageRecord[], options: { readonly signal: AbortSignal }): Promise<ExportResponse>;
  /**
   * Whether the service may answer `DuplicateRecord` to an identical resend of a record it already billed (AWS's
   * sources disagree). When `false`, `DuplicateRecord` always means another quantity holds that key and hour, so the
   * engine carries the usage forward; otherwise it is carried only if no earlier attempt could have landed.
   * @default true
   */
  readonly identicalResendIsDuplicate?: boolean;
  /**
   * Set by a sink that meters the running instance itself (AWS MeterUsage for AMI and container products) instead of
   * the customers of a SaaS product: every usage belongs to this one customer, so adapters need no customer resolver.
   */
  readonly implicitCustomer?: CustomerRef;
  /**
   * Defaults the service's rules for this sink's operation dictate, applied to the engine options left unset (e.g.
   * MeterUsage refuses records older than 6 h, not 24 h).
   */
  readonly optionDefaults?: SinkOptionDefaults;
  shutdown?(): Promise<void>;
}

/** Engine options a sink may default (see {@link UsageSink.optionDefaults}). */
export interface SinkOptionDefaults {
  readonly serviceWindowMillis?: number;
  readonly retryMaxMillis?: number;
  readonly monthEndCutoffHourUtc?: number | null;
}
