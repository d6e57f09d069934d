/**
 * BatchMeterUsage: request-level checks that refuse the whole call (identity fields, allocations,
 * product, licenses, dimensions, timestamps), then per-record outcomes (unprocessed, not subscribed,
 * duplicate, billed). Nothing is committed unless every request-level check passes.
 */
import { ServiceError } from '../errors.js';
import { fromEpochSeconds } from '../protocol.js';
import { type CustomerRef, refsOf } from '../subscriptions.js';
import { floorHour, timestampProblem } from '../time-window.js';
import { checkAllocations } from '../validation.js';
import type {
  BatchMeterUsageRequestWire,
  BatchMeterUsageResultWire,
  UsageRecordResultWire,
  UsageRecordWire,
} from '../wire.js';
import type { OperationContext } from './context.js';

interface PlannedRecord {
  readonly record: UsageRecordWire;
  readonly ref: CustomerRef;
  /** Product the record bills (its own for legacy/account, the license's for Concurrent Agreements). */
  readonly productCode: string | undefined;
  readonly timestampMillis: number;
}

/** Handles a validated BatchMeterUsage request. */
export function batchMeterUsage(
  input: BatchMeterUsageRequestWire,
  ctx: OperationContext,
): BatchMeterUsageResultWire {
  const { state, nowMillis } = ctx;
  const { catalog, options } = state;
  const requestProduct = input.ProductCode ?? '';
  ctx.note({ recordCount: input.UsageRecords.length });

  const planned = input.UsageRecords.map((record, index) => plan(record, index + 1, requestProduct, ctx));

  if (requestProduct !== '' && !catalog.acceptsProduct(requestProduct)) {
    throw new ServiceError('InvalidProductCodeException', `Product code ${requestProduct} does not exist`);
  }
  const licenseProducts = new Set<string>();
  for (const { ref } of planned) {
    if (ref.kind !== 'license') continue;
    if (!catalog.acceptsLicense(ref.licenseArn)) {
      throw new ServiceError('InvalidLicenseException', `License ${ref.licenseArn} does not exist`);
    }
    const license = catalog.license(ref.licenseArn);
    if (
      license?.customerAWSAccountId !== undefined &&
      license.customerAWSAccountId !== ref.customerAWSAccountId
    ) {
      throw new ServiceError(
        'InvalidLicenseException',
        `License ${ref.licenseArn} was not granted to account ${ref.customerAWSAccountId}`,
      );
    }
    if (license?.productCode) licenseProducts.add(license.productCode);
  }
  if (licenseProducts.size > 1) {
    throw new ServiceError(
      'InvalidLicenseException',
      `The licenses in one call must belong to one product; found ${[...licenseProducts].join(', ')}`,
    );
  }
  for (const { record, productCode } of planned) {
    if (!catalog.acceptsDimension(productCode, record.Dimension)) {
      throw new ServiceError(
        'InvalidUsageDimensionException',
        `Dimension ${record.Dimension} is not a dimension of product ${productCode ?? '(unknown)'}`,
      );
    }
  }
  for (const [index, { timestampMillis }] of planned.entries()) {
    const problem = timestampProblem(
      timestampMillis,
      nowMillis,
      options.windowMillis,
      options.futureSkewMillis,
    );
    if (problem) {
      throw new ServiceError(
        'TimestampOutOfBoundsException',
        `usageRecords.${index + 1}: timestamp ${new Date(timestampMillis).toISOString()} ${problem}`,
      );
    }
  }
  if (options.unknownCustomerIdentifierException && !options.autoSubscribe) {
    for (const { ref } of planned) {
      if (ref.kind === 'legacy' && !state.subscriptions.find(ref, nowMillis)) {
        throw new ServiceError(
          'InvalidCustomerIdentifierException',
          `Customer ${ref.customerIdentifier} does not exist`,
        );
      }
    }
  }

  const results: UsageRecordResultWire[] = [];
  const unprocessed: UsageRecordWire[] = [];
  const leaveUnprocessed = state.faults.unprocessedPicker('BatchMeterUsage');
  for (const item of planned) {
    if (leaveUnprocessed()) {
      unprocessed.push(item.record);
      continue;
    }
    results.push(processRecord(item, ctx));
  }
  ctx.note({ unprocessedCount: unprocessed.length });
  return { Results: results, UnprocessedRecords: unprocessed };
}

function plan(
  record: UsageRecordWire,
  position: number,
  requestProduct: string,
  ctx: OperationContext,
): PlannedRecord {
  const where = `usageRecords.${position}`;
  // CustomerIdentifier has the model default "", so an empty one counts as absent.
  const customerIdentifier = record.CustomerIdentifier ?? '';
  const account = record.CustomerAWSAccountId;
  const license = record.LicenseArn;
  if ((customerIdentifier !== '') === (account !== undefined)) {
    throw new ServiceError(
      'ValidationException',
      `${where}: exactly one of CustomerIdentifier and CustomerAWSAccountId must be set`,
    );
  }
  if (license !== undefined && account === undefined) {
    throw new ServiceError('ValidationException', `${where}: LicenseArn requires CustomerAWSAccountId`);
  }
  if (license !== undefined && requestProduct !== '') {
    throw new ServiceError(
      'ValidationException',
      `${where}: ProductCode must not be sent with LicenseArn (the license identifies the product)`,
    );
  }
  if (license === undefined && requestProduct === '') {
    throw new ServiceError(
      'ValidationException',
      `${where}: ProductCode is required for records without LicenseArn`,
    );
  }
  if (record.UsageAllocations) checkAllocations(record.Quantity ?? 0, record.UsageAllocations, where);
  const [ref] = refsOf({
    productCode: license === undefined ? requestProduct : undefined,
    customerIdentifier: customerIdentifier === '' ? undefined : customerIdentifier,
    customerAWSAccountId: account,
    licenseArn: license,
  });
  const productCode =
    license === undefined ? requestProduct : ctx.state.catalog.license(license)?.productCode;
  return { record, ref: ref!, productCode, timestampMillis: fromEpochSeconds(record.Timestamp) };
}

function processRecord(item: PlannedRecord, ctx: OperationContext): UsageRecordResultWire {
  const { state, nowMillis } = ctx;
  const { record, ref } = item;
  state.catalog.noteUse({
    productCode: item.productCode,
    licenseArn: ref.kind === 'license' ? ref.licenseArn : undefined,
    dimension: record.Dimension,
  });
  let subscription = state.subscriptions.find(ref, nowMillis);
  if (!subscription && state.options.autoSubscribe) {
    subscription = state.subscriptions.put(
      {
        productCode: item.productCode,
        customerIdentifier: ref.kind === 'legacy' ? ref.customerIdentifier : undefined,
        customerAWSAccountId: ref.kind === 'legacy' ? undefined : ref.customerAWSAccountId,
        licenseArn: ref.kind === 'license' ? ref.licenseArn : undefined,
      },
      nowMillis,
      true,
    );
  }
  if (!subscription?.billable) return { UsageRecord: record, Status: 'CustomerNotSubscribed' };
  const outcome = state.ledger.commit({
    meteringRecordId: state.ids.uuid(),
    operation: 'BatchMeterUsage',
    region: ctx.region,
    ...(item.productCode !== undefined && { productCode: item.productCode }),
    ...(ref.kind === 'license' && { licenseArn: ref.licenseArn }),
    ...(ref.kind === 'legacy' && { customerIdentifier: ref.customerIdentifier }),
    ...(ref.kind !== 'legacy' && { customerAWSAccountId: ref.customerAWSAccountId }),
    dimension: record.Dimension,
    hourStartMillis: floorHour(item.timestampMillis),
    timestampMillis: item.timestampMillis,
    quantity: record.Quantity ?? 0,
    ...(record.UsageAllocations && { allocations: record.UsageAllocations }),
    firstReceivedMillis: nowMillis,
  });
  switch (outcome.kind) {
    case 'new':
      return { UsageRecord: record, MeteringRecordId: outcome.record.meteringRecordId, Status: 'Success' };
    case 'identical':
      return state.options.identicalResendStatus === 'Success'
        ? { UsageRecord: record, MeteringRecordId: outcome.record.meteringRecordId, Status: 'Success' }
        : { UsageRecord: record, Status: 'DuplicateRecord' };
    case 'conflict':
      return { UsageRecord: record, Status: 'DuplicateRecord' };
  }
}
