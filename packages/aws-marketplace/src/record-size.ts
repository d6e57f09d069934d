import type { UsageRecord } from '@meterkit/core';

/** Bytes of a record's JSON besides its strings: field names, quotes, braces, comma, the longest timestamp and quantity. */
const FIXED_BYTES =
  '{"Timestamp":99999999999.999,"CustomerAWSAccountId":"","LicenseArn":"","CustomerIdentifier":"","Dimension":"","Quantity":2147483647},'
    .length;

/**
 * JSON escaping writes at most 6 bytes per UTF-16 unit (`\u001f`, or a lone surrogate as `\udXXX`); UTF-8 needs at
 * most 3 per unit (4 per surrogate pair, i.e. 2 per unit). So 6 per unit bounds any string.
 */
const MAX_BYTES_PER_UNIT = 6;

/**
 * An upper bound of the serialized size of one record in a BatchMeterUsage request, in bytes, so batches stay under the
 * service's 1 MB limit whatever the identifiers contain.
 */
export function estimateRecordBytes(record: UsageRecord): number {
  const { key } = record;
  const units =
    key.dimension.length +
    (key.customerIdentifier?.length ?? 0) +
    (key.awsAccountId?.length ?? 0) +
    (key.licenseArn?.length ?? 0);
  return FIXED_BYTES + units * MAX_BYTES_PER_UNIT;
}
