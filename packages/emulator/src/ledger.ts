/**
 * What the emulator billed and every call it received. The billing key follows the service's dedup
 * rule: one record per (product or license, customer, dimension, floor-hour(timestamp)) per region for
 * BatchMeterUsage, and per (instance, product, dimension, hour) per region for MeterUsage. Records
 * are never aggregated: the first quantity for a key stands.
 */
import type { OperationName } from './options.js';
import type { UsageAllocationWire } from './wire.js';

/** A billed record. */
export interface BilledRecord {
  readonly meteringRecordId: string;
  readonly operation: 'BatchMeterUsage' | 'MeterUsage';
  /** Region from the request's credential scope; dedup is per region. */
  readonly region: string;
  /** Product code (legacy path, account path, MeterUsage, or the license's product when known). */
  readonly productCode?: string;
  readonly licenseArn?: string;
  readonly customerIdentifier?: string;
  readonly customerAWSAccountId?: string;
  /** MeterUsage only: the instance / task identity (see the README). */
  readonly instanceId?: string;
  readonly dimension: string;
  /** Start of the UTC hour the record bills. */
  readonly hourStartMillis: number;
  /** The first record's timestamp, in epoch milliseconds. */
  readonly timestampMillis: number;
  readonly quantity: number;
  readonly allocations?: readonly UsageAllocationWire[];
  /** Emulator time when the record was first accepted. */
  readonly firstReceivedMillis: number;
  /** Identical resends received after the first. */
  readonly identicalResends: number;
  /** Resends with another quantity, refused (`DuplicateRecord` / `DuplicateRequestException`). */
  readonly conflictingResends: number;
}

/** Sum of billed quantities per (product or license, customer, dimension). */
export interface BilledTotal {
  readonly operation: 'BatchMeterUsage' | 'MeterUsage';
  readonly productCode?: string;
  readonly licenseArn?: string;
  readonly customerIdentifier?: string;
  readonly customerAWSAccountId?: string;
  readonly instanceId?: string;
  readonly dimension: string;
  readonly quantity: number;
  readonly records: number;
}

/** Filter for {@link Ledger.totalQuantity}; every given field must match. */
export type BilledRecordFilter = Partial<
  Pick<
    BilledRecord,
    | 'operation'
    | 'region'
    | 'productCode'
    | 'licenseArn'
    | 'customerIdentifier'
    | 'customerAWSAccountId'
    | 'instanceId'
    | 'dimension'
    | 'hourStartMillis'
  >
>;

/** A call the emulator received on the service endpoint. */
export interface CallRecord {
  /** 1-based arrival order. */
  readonly sequence: number;
  /** `null` when the target header named no known operation. */
  readonly operation: OperationName | null;
  /** HTTP status answered; `null` when the response was deliberately lost. */
  readonly statusCode: number | null;
  /** `__type` of the error answered, if any. */
  readonly errorType?: string;
  readonly requestId: string;
  readonly receivedAtMillis: number;
  /** The fault that shaped this call, if any. */
  readonly fault?: 'quota' | 'throttle' | 'internal-error' | 'drop-response';
  readonly accessKeyId?: string;
  readonly region?: string;
  /** BatchMeterUsage: records sent, and how many came back unprocessed. */
  readonly recordCount?: number;
  readonly unprocessedCount?: number;
}

/** A RegisterUsage call that succeeded. */
export interface Registration {
  readonly productCode: string;
  readonly publicKeyVersion: number;
  readonly nonce?: string;
  readonly instanceId: string;
  readonly region: string;
  readonly registeredAtMillis: number;
}

/** Outcome of committing a record. */
export type CommitOutcome =
  | { readonly kind: 'new'; readonly record: BilledRecord }
  | { readonly kind: 'identical'; readonly record: BilledRecord }
  | { readonly kind: 'conflict'; readonly record: BilledRecord };

type MutableRecord = { -readonly [K in keyof BilledRecord]: BilledRecord[K] };

/** Read access to what the emulator billed and received. */
export interface Ledger {
  /** Billed records, in the order they were first accepted. */
  records(): BilledRecord[];
  /** Totals per (operation, product or license, customer or instance, dimension). */
  totals(): BilledTotal[];
  /** Sum of billed quantities over the records matching `filter`. */
  totalQuantity(filter?: BilledRecordFilter): number;
  /** Every call received on the service endpoint, in arrival order. */
  calls(): CallRecord[];
  /** Successful RegisterUsage calls. */
  registrations(): Registration[];
}

/** @internal The mutable ledger behind {@link Ledger}. */
export class LedgerStore implements Ledger {
  readonly #records = new Map<string, MutableRecord>();
  #calls: CallRecord[] = [];
  #registrations: Registration[] = [];

  /**
   * Bills `candidate` unless its key was billed already. A resend counts as identical when quantity and
   * allocations match; the timestamp may differ within the hour.
   */
  commit(candidate: Omit<BilledRecord, 'identicalResends' | 'conflictingResends'>): CommitOutcome {
    const key = JSON.stringify([
      candidate.operation,
      candidate.region,
      candidate.licenseArn ?? null,
      candidate.licenseArn ? null : (candidate.productCode ?? null),
      candidate.customerIdentifier ?? null,
      candidate.customerAWSAccountId ?? null,
      candidate.instanceId ?? null,
      candidate.dimension,
      candidate.hourStartMillis,
    ]);
    const existing = this.#records.get(key);
    if (!existing) {
      const record: MutableRecord = { ...candidate, identicalResends: 0, conflictingResends: 0 };
      this.#records.set(key, record);
      return { kind: 'new', record: { ...record } };
    }
    const identical =
      existing.quantity === candidate.quantity &&
      JSON.stringify(existing.allocations ?? null) === JSON.stringify(candidate.allocations ?? null);
    if (identical) {
      existing.identicalResends += 1;
      return { kind: 'identical', record: { ...existing } };
    }
    existing.conflictingResends += 1;
    return { kind: 'conflict', record: { ...existing } };
  }

  recordCall(call: Omit<CallRecord, 'sequence'>): void {
    this.#calls.push({ ...call, sequence: this.#calls.length + 1 });
  }

  recordRegistration(registration: Registration): void {
    this.#registrations.push(registration);
  }

  records(): BilledRecord[] {
    return [...this.#records.values()].map((r) => ({ ...r }));
  }

  totals(): BilledTotal[] {
    const totals = new Map<string, { -readonly [K in keyof BilledTotal]: BilledTotal[K] }>();
    for (const r of this.#records.values()) {
      const key = JSON.stringify([
        r.operation,
        r.licenseArn ?? null,
        r.licenseArn ? null : (r.productCode ?? null),
        r.customerIdentifier ?? null,
        r.customerAWSAccountId ?? null,
        r.instanceId ?? null,
        r.dimension,
      ]);
      const total = totals.get(key);
      if (total) {
        total.quantity += r.quantity;
        total.records += 1;
      } else {
        totals.set(key, {
          operation: r.operation,
          ...(r.productCode !== undefined && { productCode: r.productCode }),
          ...(r.licenseArn !== undefined && { licenseArn: r.licenseArn }),
          ...(r.customerIdentifier !== undefined && { customerIdentifier: r.customerIdentifier }),
          ...(r.customerAWSAccountId !== undefined && { customerAWSAccountId: r.customerAWSAccountId }),
          ...(r.instanceId !== undefined && { instanceId: r.instanceId }),
          dimension: r.dimension,
          quantity: r.quantity,
          records: 1,
        });
      }
    }
    return [...totals.values()];
  }

  totalQuantity(filter: BilledRecordFilter = {}): number {
    let sum = 0;
    for (const r of this.#records.values()) {
      const matches = Object.entries(filter).every(
        ([field, value]) => value === undefined || r[field as keyof BilledRecord] === value,
      );
      if (matches) sum += r.quantity;
    }
    return sum;
  }

  calls(): CallRecord[] {
    return [...this.#calls];
  }

  registrations(): Registration[] {
    return [...this.#registrations];
  }

  clear(): void {
    this.#records.clear();
    this.#calls = [];
    this.#registrations = [];
  }
}
