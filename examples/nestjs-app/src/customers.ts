/** The example's customer table (customers.json) and the identity each API key bills to. */
import { readFileSync } from 'node:fs';
import type { CustomerRef } from '@meterkit/core';

/** One row of `customers.json`: an API key and the AWS Marketplace identity it bills to. */
export interface CustomerRecord {
  readonly apiKey: string;
  readonly name: string;
  readonly productCode: string;
  readonly awsAccountId?: string;
  readonly licenseArn?: string;
  readonly customerIdentifier?: string;
}

/** DI token of the customer table. */
export const CUSTOMERS = Symbol('CUSTOMERS');

/** An authenticated caller: who they are, and whom AWS bills. */
export interface AuthenticatedCustomer {
  readonly name: string;
  readonly billing: CustomerRef;
}

function toBilling(record: CustomerRecord): CustomerRef {
  if (record.licenseArn !== undefined && record.awsAccountId !== undefined) {
    return {
      awsAccountId: record.awsAccountId,
      licenseArn: record.licenseArn,
      productCode: record.productCode,
    };
  }
  if (record.customerIdentifier !== undefined) {
    return { customerIdentifier: record.customerIdentifier, productCode: record.productCode };
  }
  throw new Error(`customers.json: ${record.name} needs awsAccountId + licenseArn, or customerIdentifier`);
}

/** The demo's customer table, keyed by API key (`customers.json`, next to `src/` and `dist/`). */
export function loadCustomers(
  file: URL = new URL('../customers.json', import.meta.url),
): Map<string, AuthenticatedCustomer & { record: CustomerRecord }> {
  const records = JSON.parse(readFileSync(file, 'utf8')) as CustomerRecord[];
  return new Map(
    records.map((record) => [record.apiKey, { name: record.name, billing: toBilling(record), record }]),
  );
}
