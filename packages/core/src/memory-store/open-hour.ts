const SHARDS = 64;
const PAGE_BITS = 12;
const PAGE_SIZE = 1 << PAGE_BITS;
const PAGE_MASK = PAGE_SIZE - 1;

/** How many characters of a key id pick its shard. */
const SHARD_WINDOW = 24;

/**
 * FNV-1a over a window of the key id: the characters just before its last `","`. Key ids are JSON arrays ending with
 * the dimension, so that window is the end of the customer id or license ARN, the part that tells keys apart; hashing
 * the whole id (often over 100 characters) cost a checkpoint into this store about a fifth of its time.
 */
function shardOf(keyId: string): number {
  let end = keyId.lastIndexOf('","');
  if (end < 0) end = keyId.length;
  let hash = 0x811c9dc5;
  for (let i = Math.max(0, end - SHARD_WINDOW); i < end; i++)
    hash = Math.imul(hash ^ keyId.charCodeAt(i), 0x01000193);
  return (hash >>> 0) % SHARDS;
}

/**
 * The running totals of one hour that is not sealed yet, by key id, in arrival order (the order sealing takes them).
 *
 * Why not one `Map`: a `Map` grows by rehashing every entry in one synchronous step, and at half a million keys that
 * step alone blocks the event loop for tens of milliseconds. The lookup is split over small maps, and the entries
 * themselves live in fixed-size pages of arrays, so no single step ever copies more than a shard.
 */
export class OpenHour {
  private readonly shards: (Map<string, number> | undefined)[] = new Array(SHARDS).fill(undefined);
  private readonly keyIdPages: string[][] = [];
  private readonly totalPages: Float64Array[] = [];
  private length = 0;
  /** Entries before this position have been taken (sealed). */
  private cursor = 0;
  private count = 0;
  /** Per position, the tagged parts of its total (tag set id to quantity); only keys with tagged usage have one. */
  private readonly taggedParts = new Map<number, Map<string, number>>();

  /** Keys with a total in this hour. */
  get size(): number {
    return this.count;
  }

  /**
   * Adds `quantity` (at most 2^53 − 1) to the key's total and returns what did not fit: a total stops at 2^53 − 1, the
   * most a double holds exactly, and the caller moves the rest to the next hour. Usually 0.
   */
  add(keyId: string, quantity: number): number {
    const shard = shardOf(keyId);
    let index = this.shards[shard];
    if (index === undefined) {
      index = new Map();
      this.shards[shard] = index;
    }
    const entry = index.get(keyId);
    if (entry !== undefined) {
      const totals = this.totalPages[entry >>> PAGE_BITS] as Float64Array;
      const total = totals[entry & PAGE_MASK] as number;
      // Both are exact integers, so the difference is too; the comparison never needs the rounded sum.
      if (quantity > Number.MAX_SAFE_INTEGER - total) {
        totals[entry & PAGE_MASK] = Number.MAX_SAFE_INTEGER;
        return quantity - (Number.MAX_SAFE_INTEGER - total);
      }
      totals[entry & PAGE_MASK] = total + quantity;
      return 0;
    }
    const position = this.length++;
    if ((position & PAGE_MASK) === 0) {
      this.keyIdPages.push([]);
      this.totalPages.push(new Float64Array(PAGE_SIZE));
    }
    (this.keyIdPages[position >>> PAGE_BITS] as string[]).push(keyId);
    (this.totalPages[position >>> PAGE_BITS] as Float64Array)[position & PAGE_MASK] = quantity;
    index.set(keyId, position);
    this.count += 1;
    return 0;
  }

  /**
   * Adds tagged usage: to the key's total, and to its tag set's part of it. Returns what did not fit, as {@link add}
   * does; the part counts only what did, so the parts never sum past the total.
   */
  addTagged(keyId: string, tagSetId: string, quantity: number): number {
    const excess = this.add(keyId, quantity);
    const fitted = quantity - excess;
    if (fitted === 0) return excess;
    const position = (this.shards[shardOf(keyId)] as Map<string, number>).get(keyId) as number;
    let parts = this.taggedParts.get(position);
    if (parts === undefined) {
      parts = new Map();
      this.taggedParts.set(position, parts);
    }
    parts.set(tagSetId, (parts.get(tagSetId) ?? 0) + fitted);
    return excess;
  }

  /** Hands over (once) the tagged parts of a taken entry's total, or undefined when all of it is untagged. */
  takeTaggedAt(position: number): ReadonlyMap<string, number> | undefined {
    if (this.taggedParts.size === 0) return undefined;
    const parts = this.taggedParts.get(position);
    if (parts !== undefined) this.taggedParts.delete(position);
    return parts;
  }

  /**
   * Takes the earliest entry not taken yet out of the hour and returns its position (for {@link keyIdAt} and
   * {@link totalAt}), or -1 when every entry has been taken. Entries added meanwhile come after every earlier one.
   */
  takeEarliest(): number {
    if (this.cursor >= this.length) return -1;
    const position = this.cursor++;
    const keyId = this.keyIdAt(position);
    (this.shards[shardOf(keyId)] as Map<string, number>).delete(keyId);
    this.count -= 1;
    return position;
  }

  keyIdAt(position: number): string {
    return (this.keyIdPages[position >>> PAGE_BITS] as string[])[position & PAGE_MASK] as string;
  }

  totalAt(position: number): number {
    return (this.totalPages[position >>> PAGE_BITS] as Float64Array)[position & PAGE_MASK] as number;
  }
}
