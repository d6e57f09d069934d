/** The `UsageAllocations` the service receives for a sealed record's allocations (BatchMeterUsage and MeterUsage). */
import type { UsageAllocation as WireUsageAllocation } from '@aws-sdk/client-marketplace-metering';
import type { UsageRecord } from '@meterkit/core';

/**
 * One `UsageAllocation` per allocation of the record, in the order sealed; the untagged one goes without `Tags` (the
 * model allows 1..5 tags or none). Undefined for a record with no tagged usage, which is sent as before.
 */
export function toWireAllocations(record: UsageRecord): WireUsageAllocation[] | undefined {
  if (record.allocations === undefined) return undefined;
  return record.allocations.map((allocation) =>
    allocation.tags.length === 0
      ? { AllocatedUsageQuantity: allocation.quantity }
      : {
          AllocatedUsageQuantity: allocation.quantity,
          Tags: allocation.tags.map((tag) => ({ Key: tag.key, Value: tag.value })),
        },
  );
}
