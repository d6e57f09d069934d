/**
 * MeterUsage (AMI / container products, called from the buyer's account): one record per
 * (instance, product, dimension, hour); an identical request returns the same MeteringRecordId, another
 * quantity is a `DuplicateRequestException`. `ClientToken` makes retries idempotent: the same token with
 * other parameters is a 409 `IdempotencyConflictException`.
 */
import { ServiceError } from '../errors.js';
import { fromEpochSeconds } from '../protocol.js';
import { floorHour, timestampProblem } from '../time-window.js';
import { checkAllocations } from '../validation.js';
import type { MeterUsageRequestWire, MeterUsageResultWire } from '../wire.js';
import type { OperationContext } from './context.js';
import { assertEntitledProduct } from './entitlement.js';

/** Handles a validated MeterUsage request. */
export function meterUsage(input: MeterUsageRequestWire, ctx: OperationContext): MeterUsageResultWire {
  const { state, nowMillis } = ctx;
  const { catalog, options } = state;
  const { ClientToken: clientToken, DryRun: dryRun, ...params } = input;
  const fingerprint = JSON.stringify(params);
  const tokenKey = clientToken === undefined ? undefined : JSON.stringify([ctx.instanceId, clientToken]);
  if (tokenKey !== undefined && !dryRun) {
    const previous = state.clientTokens.get(tokenKey);
    if (previous && previous.fingerprint !== fingerprint) {
      throw new ServiceError(
        'IdempotencyConflictException',
        `ClientToken ${clientToken} was already used with different parameters`,
      );
    }
    if (previous) return { MeteringRecordId: previous.meteringRecordId };
  }

  const quantity = input.UsageQuantity ?? 0;
  if (input.UsageAllocations) checkAllocations(quantity, input.UsageAllocations, 'usageAllocations');
  assertEntitledProduct(catalog, input.ProductCode);
  if (!catalog.acceptsDimension(input.ProductCode, input.UsageDimension)) {
    throw new ServiceError(
      'InvalidUsageDimensionException',
      `Dimension ${input.UsageDimension} is not a dimension of product ${input.ProductCode}`,
    );
  }
  const timestampMillis = fromEpochSeconds(input.Timestamp);
  const problem = timestampProblem(
    timestampMillis,
    nowMillis,
    options.meterUsageWindowMillis,
    options.futureSkewMillis,
  );
  if (problem) {
    throw new ServiceError(
      'TimestampOutOfBoundsException',
      `timestamp ${new Date(timestampMillis).toISOString()} ${problem}`,
    );
  }
  if (dryRun) {
    throw new ServiceError('DryRunOperation', 'Request would have succeeded, but DryRun flag is set.');
  }

  catalog.noteUse({ productCode: input.ProductCode, dimension: input.UsageDimension });
  const outcome = state.ledger.commit({
    meteringRecordId: state.ids.uuid(),
    operation: 'MeterUsage',
    region: ctx.region,
    productCode: input.ProductCode,
    instanceId: ctx.instanceId,
    dimension: input.UsageDimension,
    hourStartMillis: floorHour(timestampMillis),
    timestampMillis,
    quantity,
    ...(input.UsageAllocations && { allocations: input.UsageAllocations }),
    firstReceivedMillis: nowMillis,
  });
  if (outcome.kind === 'conflict') {
    throw new ServiceError(
      'DuplicateRequestException',
      `A record with quantity ${outcome.record.quantity} was already metered for dimension ${input.UsageDimension} in this hour`,
    );
  }
  const meteringRecordId = outcome.record.meteringRecordId;
  if (tokenKey !== undefined) state.clientTokens.set(tokenKey, { fingerprint, meteringRecordId });
  return { MeteringRecordId: meteringRecordId };
}
