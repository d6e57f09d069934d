/** Usage keys (customer, dimension, product) and their ids, and the sealed usage record of one key and hour. */
import { Buffer } from 'node:buffer';
import { hash } from 'node:crypto';
import { formatHour } from '../time/hours.js';
import type { CustomerRef } from './customer.js';
import { decodeAllocations, type EncodedAllocations, type UsageAllocation } from './usage-tags.js';

/**
 * What AWS keeps one record of per UTC hour: the product (or license), the customer and the dimension.
 * Exactly one of `customerIdentifier` (legacy) or `awsAccountId` + `licenseArn` (Concurrent Agreements) is set.
 */
export interface UsageKey {
  readonly productCode: string;
  readonly dimension: string;
  readonly customerIdentifier?: string;
  readonly awsAccountId?: string;
  readonly licenseArn?: string;
}

/**
 * The canonical, unambiguous string form of a key. Stores keep this string and nothing else; identifiers may contain any
 * character, so the form is a JSON array rather than a joined string.
 */
export function keyIdOf(key: UsageKey): string {
  return keyIdFor(key as CustomerRef, key.dimension, key.productCode);
}

/** The key id of `customer`'s usage of `dimension` under `productCode` (see {@link keyIdOf}). */
export function keyIdFor(customer: CustomerRef, dimension: string, productCode: string): string {
  return customer.licenseArn !== undefined
    ? JSON.stringify(['L', productCode, customer.awsAccountId, customer.licenseArn, dimension])
    : JSON.stringify(['C', productCode, customer.customerIdentifier, dimension]);
}

/**
 * Product codes and dimensions repeat in every record of a product; parsing gives each record its own copy. Sharing one
 * string per value keeps a million sealed records lighter for the garbage collector. Bounded, for stores that see many.
 */
const sharedStrings = new Map<string, string>();
const SHARED_STRINGS_MAX = 10_000;

function shared(value: string): string {
  const known = sharedStrings.get(value);
  if (known !== undefined) return known;
  if (sharedStrings.size >= SHARED_STRINGS_MAX) sharedStrings.clear();
  sharedStrings.set(value, value);
  return value;
}

/** Inverse of {@link keyIdOf}. */
export function keyFromId(keyId: string): UsageKey {
  const parts = JSON.parse(keyId) as string[];
  if (parts[0] === 'L') {
    const [, productCode, awsAccountId, licenseArn, dimension] = parts as [
      string,
      string,
      string,
      string,
      string,
    ];
    return { productCode: shared(productCode), awsAccountId, licenseArn, dimension: shared(dimension) };
  }
  const [, productCode, customerIdentifier, dimension] = parts as [string, string, string, string];
  return { productCode: shared(productCode), customerIdentifier, dimension: shared(dimension) };
}

/**
 * A sealed usage record: one per key and hour, immutable. Every retry sends exactly these values, so a resend is the
 * identical record AWS deduplicates instead of a second record it would refuse as `DuplicateRecord`.
 */
export interface UsageRecord {
  /** Stable id, derived from key and hour. */
  readonly id: string;
  readonly keyId: string;
  readonly key: UsageKey;
  /** Start of the UTC hour the usage belongs to; sent as the record's `Timestamp`. */
  readonly hourStart: number;
  /** 0..2,147,483,647 (the service's per-record maximum). */
  readonly quantity: number;
  /**
   * Present when some of the hour's usage was tagged: one allocation per tag set (untagged usage has no tags), summing
   * exactly to `quantity`. Fixed at seal like the quantity.
   */
  readonly allocations?: readonly UsageAllocation[];
}

/**
 * A copy of an ASCII string as one flat string. An id lives as long as its record; built by concatenation it is a rope
 * over a slice of the whole digest, more than twice the size of the flat copy (see bench/README.md).
 */
function flat(ascii: string): string {
  return Buffer.from(ascii, 'latin1').toString('latin1');
}

/** The record id for a key and hour: readable hour, hashed key (the key holds customer identifiers). */
export function recordIdOf(keyId: string, hourStart: number): string {
  // One-shot hash: the same digest as createHash().update().digest(), without a Hash object per record.
  const digest = hash('sha256', keyId, 'base64url').slice(0, 22);
  return flat(`${formatHour(hourStart)}~${digest}`);
}

/** The record for a key and hour; `allocations` as stored at seal ({@link encodeAllocations}), absent when untagged. */
export function sealRecord(
  keyId: string,
  hourStart: number,
  quantity: number,
  allocations?: EncodedAllocations,
): UsageRecord {
  if (allocations === undefined) {
    return Object.freeze({
      id: recordIdOf(keyId, hourStart),
      keyId,
      key: Object.freeze(keyFromId(keyId)),
      hourStart,
      quantity,
    });
  }
  return Object.freeze({
    id: recordIdOf(keyId, hourStart),
    keyId,
    key: Object.freeze(keyFromId(keyId)),
    hourStart,
    quantity,
    allocations: Object.freeze(decodeAllocations(allocations)),
  });
}

/** The most one record may carry (`UsageQuantity` in the service model); the excess moves to the next hour. */
export const MAX_RECORD_QUANTITY = 2_147_483_647;
