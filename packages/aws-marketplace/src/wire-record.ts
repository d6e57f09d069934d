/** A sealed record as AWS receives it in BatchMeterUsage, and the content key results are matched back by. */
import type { UsageRecord as WireUsageRecord } from '@aws-sdk/client-marketplace-metering';
import type { UsageRecord } from '@meterkit/core';
import { toWireAllocations } from './wire-allocations.js';

/**
 * The `UsageRecord` AWS receives for a sealed record. Exactly one customer identity is sent: `CustomerAWSAccountId` +
 * `LicenseArn` (Concurrent Agreements) or `CustomerIdentifier` (legacy). `Timestamp` is the start of the usage hour,
 * never "now", so every resend is identical. `UsageAllocations` go as sealed (they sum to `Quantity`).
 */
export function toWireRecord(record: UsageRecord): WireUsageRecord {
  const { key } = record;
  const identity =
    key.licenseArn !== undefined
      ? { CustomerAWSAccountId: key.awsAccountId, LicenseArn: key.licenseArn }
      : { CustomerIdentifier: key.customerIdentifier };
  const wire: WireUsageRecord = {
    Timestamp: new Date(record.hourStart),
    ...identity,
    Dimension: key.dimension,
    Quantity: record.quantity,
  };
  const allocations = toWireAllocations(record);
  if (allocations !== undefined) wire.UsageAllocations = allocations;
  return wire;
}

/**
 * What identifies a record inside one call: identity, dimension, timestamp and quantity. Results are matched back to
 * records by this, never by position (the service does not promise to keep the order).
 */
export function contentKeyOf(wire: WireUsageRecord | undefined): string | undefined {
  if (wire === undefined || wire.Timestamp === undefined) return undefined;
  const timestamp = wire.Timestamp instanceof Date ? wire.Timestamp.getTime() : Number(wire.Timestamp);
  return JSON.stringify([
    // The model gives CustomerIdentifier the default "", so an empty one is the same as an absent one.
    wire.CustomerIdentifier || null,
    wire.CustomerAWSAccountId ?? null,
    wire.LicenseArn ?? null,
    wire.Dimension ?? null,
    timestamp,
    wire.Quantity ?? 0,
  ]);
}
