/** Reads a BatchMeterUsage answer back onto the records sent, by content, never by position. */
import type { BatchMeterUsageCommandOutput } from '@aws-sdk/client-marketplace-metering';
import type { MeteringLogger, RecordOutcome, UsageRecord } from '@meterkit/core';
import { contentKeyOf, toWireRecord } from './wire-record.js';

/**
 * Turns a BatchMeterUsage answer into one outcome per record it names. Results are matched to records by content
 * (identity, dimension, timestamp, quantity), not by position. A record the answer does not name is left out, and the
 * dispatcher sends it again, identical. If a record shows up in both lists, `Results` wins: it says what was billed.
 */
export function readOutcomes(
  records: readonly UsageRecord[],
  output: Pick<BatchMeterUsageCommandOutput, 'Results' | 'UnprocessedRecords'>,
  logger: MeteringLogger,
): RecordOutcome[] {
  const byContent = new Map<string, UsageRecord>();
  for (const record of records) byContent.set(contentKeyOf(toWireRecord(record)) as string, record);
  const outcomes = new Map<string, RecordOutcome>();
  let unmatched = 0;

  for (const result of output.Results ?? []) {
    const record = byContent.get(contentKeyOf(result.UsageRecord) ?? '');
    if (record === undefined) {
      unmatched += 1;
      continue;
    }
    if (outcomes.has(record.id)) continue;
    const { id } = record;
    switch (result.Status) {
      case 'Success':
        outcomes.set(id, { id, status: 'success', meteringRecordId: result.MeteringRecordId });
        break;
      case 'DuplicateRecord':
        outcomes.set(id, { id, status: 'duplicate' });
        break;
      case 'CustomerNotSubscribed':
        outcomes.set(id, { id, status: 'not-subscribed' });
        break;
      default:
        // A status newer than this code: leave the record out so it is resent, and say so.
        logger.warn('BatchMeterUsage answered an unknown record status; the record will be sent again', {
          status: String(result.Status),
          recordId: id,
        });
    }
  }
  for (const wire of output.UnprocessedRecords ?? []) {
    const record = byContent.get(contentKeyOf(wire) ?? '');
    if (record === undefined) {
      unmatched += 1;
      continue;
    }
    if (!outcomes.has(record.id)) outcomes.set(record.id, { id: record.id, status: 'unprocessed' });
  }
  if (unmatched > 0) {
    logger.warn('BatchMeterUsage answered records that match none sent; they are ignored', { unmatched });
  }
  return [...outcomes.values()];
}
