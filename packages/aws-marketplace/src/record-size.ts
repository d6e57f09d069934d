/** An upper bound of a record's size in a BatchMeterUsage request, so planned calls stay under 1 MB. */
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

/** Bytes of one allocation's JSON besides its tags, and of one tag besides its strings. */
const ALLOCATION_BYTES = '{"AllocatedUsageQuantity":2147483647,"Tags":[]},'.length;
const TAG_BYTES = '{"Key":"","Value":""},'.length;
/** Tag strings match the model's pattern (checked when recorded): ASCII, and only `"` needs escaping, to 2 bytes. */
const MAX_BYTES_PER_TAG_UNIT = 2;
const ALLOCATIONS_FIELD_BYTES = '"UsageAllocations":[],'.length;

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
  return FIXED_BYTES + units * MAX_BYTES_PER_UNIT + allocationBytes(record);
}

/** The bound for a record's `UsageAllocations`; 0 for a record without them. */
function allocationBytes(record: UsageRecord): number {
  if (record.allocations === undefined) return 0;
  let bytes = ALLOCATIONS_FIELD_BYTES;
  for (const allocation of record.allocations) {
    bytes += ALLOCATION_BYTES;
    for (const tag of allocation.tags)
      bytes += TAG_BYTES + (tag.key.length + tag.value.length) * MAX_BYTES_PER_TAG_UNIT;
  }
  return bytes;
}
