/** Usage allocation tags: the service's limits on them, their canonical form, and how a record's allocations are built. */

/** Tags a buyer sees on an allocation of a record (`{ project: 'alpha' }`), at most five. */
export type UsageTags = Readonly<Record<string, string>>;

/** One `Tag` of an allocation, as the service names it. */
export interface UsageTag {
  readonly key: string;
  readonly value: string;
}

/** A part of a record's quantity, untagged when `tags` is empty. The parts of a record sum to its quantity. */
export interface UsageAllocation {
  readonly tags: readonly UsageTag[];
  readonly quantity: number;
}

/**
 * The service model's `Tag` pattern, exactly: inside the class, `+ -=` is a range from space to `=`, so the model
 * (and this) also accepts ``!"#$%&'()*,;<`` while refusing `>?~[]{}` and anything outside ASCII.
 */
export const TAG_PATTERN = /^[a-zA-Z0-9+ -=._:/@]+$/;
export const MAX_TAG_KEY_LENGTH = 100;
export const MAX_TAG_VALUE_LENGTH = 256;
export const MAX_TAGS_PER_ALLOCATION = 5;
/** Distinct tag keys across one record's allocations (the seller guide's "5 tags across the allocation list"). */
export const MAX_TAG_KEYS_PER_RECORD = 5;
/**
 * What one record's allocations may take on the wire, so the record still fits a 1 MB BatchMeterUsage request
 * alongside its identifiers. An allocation takes at most 160 bytes plus its tag set id's length (the id holds the same
 * escaped keys and values); tag sets past the budget are billed in the untagged allocation.
 */
export const MAX_ALLOCATION_BYTES_PER_RECORD = 900_000;
const ALLOCATION_OVERHEAD_BYTES = 160;
/** `UsageAllocations` length limit; tag sets beyond it are billed in the untagged allocation. */
export const MAX_ALLOCATIONS_PER_RECORD = 2_500;

/** Why `tags` cannot go on an allocation, or undefined when they can. */
export function checkTags(tags: unknown): string | undefined {
  if (tags === null || typeof tags !== 'object' || Array.isArray(tags)) return 'tags must be an object';
  const entries = Object.entries(tags as Record<string, unknown>);
  if (entries.length > MAX_TAGS_PER_ALLOCATION)
    return `at most ${MAX_TAGS_PER_ALLOCATION} tags per allocation (got ${entries.length})`;
  for (const [key, value] of entries) {
    if (key.length < 1 || key.length > MAX_TAG_KEY_LENGTH || !TAG_PATTERN.test(key))
      return `tag key ${JSON.stringify(key)} must be 1 to ${MAX_TAG_KEY_LENGTH} characters matching ${TAG_PATTERN.source}`;
    if (
      typeof value !== 'string' ||
      value.length < 1 ||
      value.length > MAX_TAG_VALUE_LENGTH ||
      !TAG_PATTERN.test(value)
    )
      return `value of tag ${JSON.stringify(key)} must be 1 to ${MAX_TAG_VALUE_LENGTH} characters matching ${TAG_PATTERN.source}`;
  }
  return undefined;
}

/**
 * The canonical string of a valid tag set: `[[key, value], ...]` sorted by key, so two objects with the same tags in
 * another order are one allocation. The empty set is `''` (untagged). Stores keep this string and nothing else.
 */
export function tagSetIdOf(tags: UsageTags): string {
  const keys = Object.keys(tags);
  if (keys.length === 0) return '';
  keys.sort();
  return JSON.stringify(keys.map((key) => [key, tags[key]]));
}

/** Inverse of {@link tagSetIdOf}. */
export function tagsOfSetId(tagSetId: string): UsageTag[] {
  if (tagSetId === '') return [];
  return (JSON.parse(tagSetId) as [string, string][]).map(([key, value]) => ({ key, value }));
}

/** A record's allocations as stored: `[[tagSetId, quantity], ...]` in a fixed order, as JSON. */
export type EncodedAllocations = string;

export function encodeAllocations(parts: readonly (readonly [string, number])[]): EncodedAllocations {
  return JSON.stringify(parts);
}

/** The stored form of allocations already on a record (a requeued dead letter, a carry), or undefined. */
export function encodeAllocationsOf(
  allocations: readonly UsageAllocation[] | undefined,
): EncodedAllocations | undefined {
  if (allocations === undefined) return undefined;
  return encodeAllocations(allocations.map((a) => [tagSetIdOfTags(a.tags), a.quantity] as const));
}

/** The tag set id of tags in allocation form. */
export function tagSetIdOfTags(tags: readonly UsageTag[]): string {
  const object: Record<string, string> = {};
  for (const tag of tags) object[tag.key] = tag.value;
  return tagSetIdOf(object);
}

export function decodeAllocations(encoded: EncodedAllocations): UsageAllocation[] {
  return (JSON.parse(encoded) as [string, number][]).map(([tagSetId, quantity]) =>
    Object.freeze({ tags: Object.freeze(tagsOfSetId(tagSetId)), quantity }),
  );
}

/** What sealing one key's hour gives: the allocations of the record, and what moves on to the next hour. */
export interface SealedAllocations {
  /** `[tagSetId, quantity]` summing to the record's quantity; empty when the hour had no tagged usage. */
  readonly parts: [string, number][];
  /** Per tag set, the part above the record's maximum, carried into the next hour. */
  readonly carried: [string, number][];
  /**
   * Tag sets beyond {@link MAX_ALLOCATIONS_PER_RECORD}, or bringing a key beyond {@link MAX_TAG_KEYS_PER_RECORD},
   * billed in the untagged allocation instead.
   */
  readonly rolledUp: number;
}

/**
 * Splits a key's `total` for one hour into allocations. `tagged` holds the tagged parts (tag set id to quantity); the
 * rest of `total` is untagged. Tag sets are taken in sorted order; one that would bring a sixth distinct tag key or
 * pass the byte budget, and those past the allocation limit, roll into the untagged allocation (counted, never lost). When `total` exceeds `maxQuantity`, the allocations are filled in that
 * same order up to it and the excess of each tag set is carried, so both hours' allocations still sum exactly.
 */
export function sealAllocations(
  total: number,
  tagged: ReadonlyMap<string, number>,
  maxQuantity: number,
): SealedAllocations {
  // Entries, not ids looked up again: each tag set's quantity travels with it. Sorted by id, as `sort()` sorts strings.
  const entries = [...tagged]
    .filter(([id, quantity]) => id !== '' && quantity > 0)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (entries.length === 0) {
    return { parts: [], carried: total > maxQuantity ? [['', total - maxQuantity]] : [], rolledUp: 0 };
  }
  let untagged = total;
  for (const [, quantity] of entries) untagged -= quantity;
  // The seller guide allows five tags across a record's allocations, read (as the emulator does) as five distinct
  // keys: a tag set that would bring a sixth key is billed untagged rather than risk the whole record being refused.
  const keys = new Set<string>();
  const kept: [string, number][] = [];
  let rolledUp = 0;
  let bytes = ALLOCATION_OVERHEAD_BYTES;
  for (const [id, quantity] of entries) {
    const fresh = (JSON.parse(id) as [string, string][]).map(([key]) => key).filter((key) => !keys.has(key));
    const cost = ALLOCATION_OVERHEAD_BYTES + id.length;
    if (
      keys.size + fresh.length > MAX_TAG_KEYS_PER_RECORD ||
      bytes + cost > MAX_ALLOCATION_BYTES_PER_RECORD
    ) {
      untagged += quantity;
      rolledUp += 1;
      continue;
    }
    for (const key of fresh) keys.add(key);
    bytes += cost;
    kept.push([id, quantity]);
  }
  // The untagged allocation takes one place when there is or will be untagged usage.
  const room =
    untagged > 0 || kept.length > MAX_ALLOCATIONS_PER_RECORD
      ? MAX_ALLOCATIONS_PER_RECORD - 1
      : MAX_ALLOCATIONS_PER_RECORD;
  if (kept.length > room) {
    for (const [, quantity] of kept.slice(room)) untagged += quantity;
    rolledUp += kept.length - room;
    kept.length = room;
  }
  const all: [string, number][] = untagged > 0 ? [['', untagged]] : [];
  for (const entry of kept) all.push(entry);
  if (total <= maxQuantity) return { parts: all, carried: [], rolledUp };
  const parts: [string, number][] = [];
  const carried: [string, number][] = [];
  let left = maxQuantity;
  for (const [id, quantity] of all) {
    const billed = Math.min(left, quantity);
    left -= billed;
    if (billed > 0) parts.push([id, billed]);
    if (quantity > billed) carried.push([id, quantity - billed]);
  }
  return { parts, carried, rolledUp };
}
