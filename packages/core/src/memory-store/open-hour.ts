/** One hour's running totals by key, before the hour is sealed. */
import { PagedArray } from './paged-array.js';

const SHARDS = 64;

/** How many characters of a key id pick its shard. */
const SHARD_WINDOW = 24;

/**
 * FNV-1a over a window of the key id: the characters just before its last `","`. Key ids are JSON arrays ending with
 * the dimension, so that window is the end of the customer id or license ARN, the part that tells keys apart; hashing
 * the whole id (often over 100 characters) made checkpoints into this store markedly slower (bench/README.md,
 * "Why the code is shaped this way: measurements").
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
 * Why not one `Map`: a `Map` grows by rehashing every entry in one synchronous step, and near a million keys that step
 * alone is a long event-loop stall (figures in bench/README.md). The lookup is split over small maps, and the entries
 * themselves live in a {@link PagedArray}, so no single step ever copies more than a shard.
 */
export class OpenHour {
  private readonly shards: (Map<string, number> | undefined)[] = new Array(SHARDS).fill(undefined);
  /** By position: the key id and its total. */
  private readonly keyIds = PagedArray.values<string>();
  private readonly totals = PagedArray.float64();
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
    const index = this.shardFor(keyId);
    const entry = index.get(keyId);
    if (entry !== undefined) {
      const total = this.totals.get(entry);
      // Both are exact integers, so the difference is too; the comparison never needs the rounded sum.
      if (quantity > Number.MAX_SAFE_INTEGER - total) {
        this.totals.set(entry, Number.MAX_SAFE_INTEGER);
        return quantity - (Number.MAX_SAFE_INTEGER - total);
      }
      this.totals.set(entry, total + quantity);
      return 0;
    }
    const position = this.length++;
    this.keyIds.set(position, keyId);
    this.totals.set(position, quantity);
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
    // Always found: add() has just given the key an entry if it had none.
    const position = this.shardFor(keyId).get(keyId);
    if (position === undefined) return excess;
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
    this.shards[shardOf(keyId)]?.delete(keyId);
    this.count -= 1;
    return position;
  }

  /** The key id at a position {@link add} gave out, or '' at any other. */
  keyIdAt(position: number): string {
    return this.keyIds.get(position) ?? '';
  }

  totalAt(position: number): number {
    return this.totals.get(position);
  }

  /** The lookup map of the key's shard, made when the shard gets its first key. */
  private shardFor(keyId: string): Map<string, number> {
    const shard = shardOf(keyId);
    let index = this.shards[shard];
    if (index === undefined) {
      index = new Map();
      this.shards[shard] = index;
    }
    return index;
  }
}
