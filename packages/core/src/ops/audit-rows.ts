// Accepted records as flat rows (CSV or JSON) to reconcile with CloudTrail and the seller reports.

import { keyFromId } from '../model/usage-key.js';
import type { AuditEntry, DeadLetter } from '../store/usage-store.js';
import { formatHour } from '../time/hours.js';

/** One billed record, with the id AWS gave it. Column names follow BatchMeterUsage's fields. */
export interface AuditRow {
  readonly MeteringRecordId: string;
  readonly ProductCode: string;
  readonly CustomerIdentifier: string;
  readonly CustomerAWSAccountId: string;
  readonly LicenseArn: string;
  readonly Dimension: string;
  /** The hour the usage belongs to (the record's Timestamp), ISO-8601. */
  readonly Timestamp: string;
  readonly Quantity: number;
  readonly AcceptedAt: string;
  /** meterkit's own id (key and hour), stable across resends. */
  readonly RecordId: string;
}

export function auditRow(entry: AuditEntry): AuditRow {
  const key = keyFromId(entry.keyId);
  return {
    MeteringRecordId: entry.meteringRecordId ?? '',
    ProductCode: key.productCode,
    CustomerIdentifier: key.customerIdentifier ?? '',
    CustomerAWSAccountId: key.awsAccountId ?? '',
    LicenseArn: key.licenseArn ?? '',
    Dimension: key.dimension,
    Timestamp: new Date(entry.hourStart).toISOString(),
    Quantity: entry.quantity,
    AcceptedAt: new Date(entry.acceptedAt).toISOString(),
    RecordId: entry.recordId,
  };
}

/** A dead letter as a flat row, for `dead-letters export`. */
export interface DeadLetterRow {
  readonly RecordId: string;
  readonly Reason: string;
  readonly Detail: string;
  readonly ProductCode: string;
  readonly CustomerIdentifier: string;
  readonly CustomerAWSAccountId: string;
  readonly LicenseArn: string;
  readonly Dimension: string;
  readonly Hour: string;
  readonly Quantity: number;
  readonly DeadAt: string;
  readonly Attempts: number;
}

export function deadLetterRow(letter: DeadLetter): DeadLetterRow {
  const key = letter.record.key;
  return {
    RecordId: letter.record.id,
    Reason: letter.reason,
    Detail: letter.detail,
    ProductCode: key.productCode,
    CustomerIdentifier: key.customerIdentifier ?? '',
    CustomerAWSAccountId: key.awsAccountId ?? '',
    LicenseArn: key.licenseArn ?? '',
    Dimension: key.dimension,
    Hour: formatHour(letter.record.hourStart),
    Quantity: letter.record.quantity,
    DeadAt: new Date(letter.at).toISOString(),
    Attempts: letter.attempts,
  };
}

/** RFC 4180 CSV: a header line, then one line per row; fields with commas, quotes or line breaks are quoted. */
export function toCsv<T extends object>(rows: readonly T[], columns: readonly (keyof T & string)[]): string {
  const field = (value: unknown): string => {
    const text = String(value ?? '');
    return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
  };
  const lines = [columns.join(',')];
  for (const row of rows) lines.push(columns.map((c) => field(row[c])).join(','));
  return `${lines.join('\r\n')}\r\n`;
}
