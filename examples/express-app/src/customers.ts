/** The example's customer table (customers.json) and the API-key authentication that reads it. */
import { readFileSync } from 'node:fs';
import type { CustomerRef } from '@meterkit/core';
import type { NextFunction, Request, Response } from 'express';
import { sendError } from './http-errors.js';

/** One row of `customers.json`: an API key and the AWS Marketplace identity the key's owner is billed under. */
export interface CustomerRecord {
  readonly apiKey: string;
  readonly name: string;
  readonly productCode: string;
  readonly awsAccountId?: string;
  readonly licenseArn?: string;
  readonly customerIdentifier?: string;
}

/** An authenticated caller: the row, and the billing identity built from it once (the hot path reuses the object). */
export interface Customer {
  readonly record: CustomerRecord;
  readonly billing: CustomerRef;
}

/** A request once {@link authenticate} has run: `customer` is the caller its API key belongs to. */
export type AuthenticatedRequest = Request & { customer?: Customer };

/** The customer table shipped with the example. */
export const customersFile = new URL('../customers.json', import.meta.url);

/** Reads the table and indexes it by API key. */
export function loadCustomers(file: URL = customersFile): Map<string, Customer> {
  const rows = JSON.parse(readFileSync(file, 'utf8')) as CustomerRecord[];
  const byKey = new Map<string, Customer>();
  for (const record of rows) byKey.set(record.apiKey, { record, billing: toBilling(record) });
  return byKey;
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

/**
 * Authentication: the `x-api-key` header must be a key from the table; the caller it names is attached to the
 * request. Answers 401 otherwise, before anything is metered. (The key authenticates the caller; a header naming a
 * customer id would not.)
 */
export function authenticate(customers: ReadonlyMap<string, Customer>) {
  return (req: AuthenticatedRequest, res: Response, next: NextFunction): void => {
    const key = req.get('x-api-key');
    const customer = key === undefined ? undefined : customers.get(key);
    if (customer === undefined) {
      sendError(res, 401, 'a valid x-api-key header is required');
      return;
    }
    req.customer = customer;
    next();
  };
}
