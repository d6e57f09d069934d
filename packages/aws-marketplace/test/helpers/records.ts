/** Sealed records of one product (license and legacy buyers) for the AWS sink tests. */
import { type UsageKey, type UsageRecord } from '@meterkit/core';
import { keyIdOf, sealRecord } from '@meterkit/core/store';

export const PRODUCT = 'prod-abc123';
/** 2026-11-26T10:00:00Z */
export const HOUR_START = Date.UTC(2026, 10, 26, 10);
export const LICENSE_ARN = 'arn:aws:license-manager::111122223333:license:l-0123456789abcdef';

export function licenseRecord(dimension = 'requests', quantity = 5, account = '111122223333'): UsageRecord {
  return record(
    { productCode: PRODUCT, awsAccountId: account, licenseArn: LICENSE_ARN, dimension },
    quantity,
  );
}

export function legacyRecord(
  customerIdentifier = 'cust-alice',
  dimension = 'requests',
  quantity = 7,
): UsageRecord {
  return record({ productCode: PRODUCT, customerIdentifier, dimension }, quantity);
}

export function record(key: UsageKey, quantity: number, hourStart = HOUR_START): UsageRecord {
  return sealRecord(keyIdOf(key), hourStart, quantity);
}
