const SHARDS = 64;
const INITIAL_ENTRIES = 64;

/** FNV-1a over the string's UTF-16 code units: spreads key ids over the shards. */
function shardOf(keyId: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < keyId.length; i++) hash = Math.imul(hash ^ keyId.charCodeAt(i), 0x01000193);
  return (hash >>> 0) % SHARDS;
}

/**
 * The running totals of one hour that is not sealed yet, by key id, in arrival order (the order sealing takes them).
 *
 * Why not one `Map`: a `Map` grows by rehashing every entry in one synchronous step, and at half a million keys that
 * step alone blocks the event loop for tens of milliseconds. The lookup is split over small maps, and the entries
 * themselves live in arrays, so no single step ever touches more than a shard.
 */
export class OpenHour {
  private readonly shards: (Map<string, number> | undefined)[] = new Array(SHARDS).fill(undefined);
  private readonly keyIds: string[] = [];
  private totals = new Float64Array(INITIAL_ENTRIES);
  /** Entries before this position have been taken (sealed). */
  private cursor = 0;
  private count = 0;

  /** Keys with a total in this hour. */
  get size(): number {
    return this.count;
  }

  /** Adds `quantity` to the key's total; returns true when the key is new to this hour. */
  add(keyId: string, quantity: number): boolean {
    const shard = shardOf(keyId);
    let index = this.shards[shard];
    if (index === undefined) {
      index = new Map();
      this.shards[shard] = index;
    }
    const entry = index.get(keyId);
    if (entry !== undefined) {
      this.totals[entry] = (this.totals[entry] as number) + quantity;
      return false;
    }
    const position = this.keyIds.length;
    if (position >= this.totals.length) {
      const grown = new Float64Array(this.totals.length * 2);
      grown.set(this.totals);
      this.totals = grown;
    }
    this.keyIds.push(keyId);
    this.totals[position] = quantity;
    index.set(keyId, position);
    this.count += 1;
    return true;
  }

  /**
   * Takes the earliest entry not taken yet out of the hour and returns its position (for {@link keyIdAt} and
   * {@link totalAt}), or -1 when every entry has been taken. Entries added meanwhile come after every earlier one.
   */
  takeEarliest(): number {
    if (this.cursor >= this.keyIds.length) return -1;
    const position = this.cursor++;
    const keyId = this.keyIds[position] as string;
    (this.shards[shardOf(keyId)] as Map<string, number>).delete(keyId);
    this.count -= 1;
    return position;
  }

  keyIdAt(position: number): string {
    return this.keyIds[position] as string;
  }

  totalAt(position: number): number {
    return this.totals[position] as number;
  }
}
