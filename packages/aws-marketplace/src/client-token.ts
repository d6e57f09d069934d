/** MeterUsage's ClientToken, derived from a record's identity so every retry of a record is the identical request. */
import { hash } from 'node:crypto';
import type { UsageRecord } from '@meterkit/core';

/**
 * `mk1-` and 43 base64url characters of SHA-256 over the record's key and hour (47 characters; AWS allows 1 to 64).
 * The quantity is left out on purpose: a different quantity under the same identity must be refused by AWS
 * (`IdempotencyConflictException`, `DuplicateRequestException`), never accepted as a new record.
 */
export function clientTokenOf(record: Pick<UsageRecord, 'keyId' | 'hourStart'>): string {
  return `mk1-${hash('sha256', JSON.stringify([record.keyId, record.hourStart]), 'base64url')}`;
}
