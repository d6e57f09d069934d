/** A test sink with a ledger that follows AWS's billing rules, and scriptable faults. */
import { randomUUID } from 'node:crypto';
import type { UsageRecord } from '../model/usage-key.js';
import { groupIntoBatches } from '../sink/group-into-batches.js';
import type { ExportResponse, RecordOutcome, UsageSink } from '../sink/usage-sink.js';
import type { Clock } from '../time/clock.js';
import { hourStartOf } from '../time/hours.js';

/** Bytes of a BatchMeterUsage request around its records (`{"ProductCode":"…","UsageRecords":[]}`). */
const REQUEST_OVERHEAD_BYTES = 320;

/** A scripted answer for one call. */
export type SinkFault =
  | { readonly kind: 'throttle' }
  | { readonly kind: 'server-error' }
  /** The call never reached the service. */
  | { readonly kind: 'network' }
  /** The service committed the records, then the answer was lost. */
  | { readonly kind: 'lost-after-commit' }
  /** Refuse the whole call (as AWS does for one bad record). */
  | { readonly kind: 'reject'; readonly code: string }
  | { readonly kind: 'failed'; readonly code: string }
  /** Leave these records (by index in the call) unprocessed. */
  | { readonly kind: 'unprocessed'; readonly indexes: readonly number[] };

export interface BilledEntry {
  readonly record: UsageRecord;
  readonly meteringRecordId: string;
}

export interface InMemorySinkOptions {
  /** Answer an identical resend with `DuplicateRecord` instead of `Success` (AWS's sources disagree). @default false */
  identicalResendIsDuplicate?: boolean;
  /** Refuse records older than this (whole call, `TimestampOutOfBoundsException`), measured on `clock`. */
  windowMillis?: number;
  clock?: Clock;
  /** Per call: a fault to apply, or undefined for a normal answer. */
  faults?: (records: readonly UsageRecord[], call: number) => SinkFault | undefined;
  /** A record that makes the whole call fail (e.g. an invalid dimension): returns the error code, or undefined. */
  invalid?: (record: UsageRecord) => string | undefined;
}

/**
 * A sink with a ledger that follows AWS's rules: the first record per (product or license, customer, dimension, hour)
 * is billed; an identical resend is accepted again with the same id; another quantity is `DuplicateRecord`.
 * Outcomes can be scripted, for tests of everything between the tally and AWS.
 */
export class InMemorySink implements UsageSink {
  readonly name = 'in-memory';
  /** Records per call, as BatchMeterUsage takes. */
  readonly maxBatchSize: number = 25;
  /** Bytes per call, exclusive, as BatchMeterUsage takes (1 MB); counted with {@link estimateRecordBytes}. */
  readonly maxBatchBytes: number = 1_000_000;
  /** Billed records, by key and hour. */
  readonly ledger = new Map<string, BilledEntry>();
  /** Every call, in order, with the answer given. */
  readonly calls: { readonly records: readonly UsageRecord[]; readonly response: ExportResponse }[] = [];
  /** Customers (license ARN or customer identifier) whose records come back `CustomerNotSubscribed`. */
  readonly unsubscribed = new Set<string>();
  private readonly queued: SinkFault[] = [];

  readonly identicalResendIsDuplicate: boolean;

  constructor(private readonly options: InMemorySinkOptions = {}) {
    this.identicalResendIsDuplicate = options.identicalResendIsDuplicate ?? false;
  }

  /** Queues faults for the next calls, one per call, before any `faults` function is asked. */
  enqueue(...faults: SinkFault[]): void {
    this.queued.push(...faults);
  }

  /** Groups as BatchMeterUsage calls must be: one product and one kind of customer id each, within the limits above. */
  planBatches(records: readonly UsageRecord[]): UsageRecord[][] {
    return groupIntoBatches(records, {
      // A legacy call sends ProductCode at request level; a Concurrent Agreements call must not send it at all.
      groupOf: (r) => `${r.key.licenseArn === undefined ? 'C' : 'L'}:${r.key.productCode}`,
      maxRecords: this.maxBatchSize,
      maxBytes: this.maxBatchBytes,
      overheadBytes: REQUEST_OVERHEAD_BYTES,
      recordBytes: (r) => this.estimateRecordBytes(r),
    });
  }

  /** A record's size as {@link planBatches} counts it; a test overrides it to make records look bigger. */
  estimateRecordBytes(record: UsageRecord): number {
    return 200 + record.keyId.length * 2;
  }

  async export(records: readonly UsageRecord[]): Promise<ExportResponse> {
    const response = this.answer(records);
    this.calls.push({ records, response });
    return response;
  }

  /** Units billed per key id, summed over hours. */
  billedByKey(): Map<string, number> {
    const totals = new Map<string, number>();
    for (const { record } of this.ledger.values()) {
      totals.set(record.keyId, (totals.get(record.keyId) ?? 0) + record.quantity);
    }
    return totals;
  }

  private answer(records: readonly UsageRecord[]): ExportResponse {
    const fault = this.queued.shift() ?? this.options.faults?.(records, this.calls.length);
    switch (fault?.kind) {
      case 'throttle':
        return {
          status: 'retryable',
          reason: 'throttled',
          code: 'ThrottlingException',
          message: 'Rate exceeded',
        };
      case 'server-error':
        return {
          status: 'retryable',
          reason: 'server-error',
          code: 'InternalServiceErrorException',
          message: 'oops',
        };
      case 'network':
        return { status: 'retryable', reason: 'network', code: 'ECONNRESET', message: 'socket hang up' };
      case 'reject':
        return { status: 'rejected', code: fault.code, message: 'the request was refused' };
      case 'failed':
        return { status: 'failed', code: fault.code, message: 'the request was refused' };
      default:
        break;
    }
    const now = this.options.clock?.now();
    for (const record of records) {
      if (
        now !== undefined &&
        this.options.windowMillis !== undefined &&
        now - record.hourStart >= this.options.windowMillis
      ) {
        return {
          status: 'rejected',
          code: 'TimestampOutOfBoundsException',
          message: 'too old',
          tooOld: true,
        };
      }
      const code = this.options.invalid?.(record);
      if (code !== undefined) return { status: 'rejected', code, message: `invalid record ${record.id}` };
    }
    const unprocessed = new Set(fault?.kind === 'unprocessed' ? fault.indexes : []);
    const outcomes: RecordOutcome[] = records.map((record, index) =>
      unprocessed.has(index) ? { id: record.id, status: 'unprocessed' } : this.bill(record),
    );
    if (fault?.kind === 'lost-after-commit') {
      return {
        status: 'retryable',
        reason: 'network',
        code: 'ECONNRESET',
        message: 'answer lost after commit',
      };
    }
    return { status: 'done', outcomes };
  }

  private bill(record: UsageRecord): RecordOutcome {
    const customer = record.key.licenseArn ?? record.key.customerIdentifier ?? '';
    if (this.unsubscribed.has(customer)) return { id: record.id, status: 'not-subscribed' };
    const slot = `${record.keyId}\n${hourStartOf(record.hourStart)}`;
    const billed = this.ledger.get(slot);
    if (billed === undefined) {
      const meteringRecordId = randomUUID();
      this.ledger.set(slot, { record, meteringRecordId });
      return { id: record.id, status: 'success', meteringRecordId };
    }
    if (billed.record.quantity === record.quantity && !this.identicalResendIsDuplicate) {
      return { id: record.id, status: 'success', meteringRecordId: billed.meteringRecordId };
    }
    return { id: record.id, status: 'duplicate' };
  }
}
