/** Deltas drained from the tally that the store has not taken yet: passed through in order, merged during outages. */
import type { UsageDelta } from '../store/usage-store.js';

interface MergedDelta {
  keyId: string;
  hourStart: number;
  quantity: number;
  /** The tag set, kept only on tagged deltas so untagged ones stay as the store has always seen them. */
  tags?: string;
}

/**
 * The queue between the tally and the store. While the store answers, slices pass through in the order they were
 * drained, untouched (no per-delta work on the healthy path). Once a write fails, everything queued is merged by key,
 * hour and tag set (tagged usage stays with its tags, never folded into another allocation): a store outage then holds one entry per key, hour and tag set however many checkpoints it lasts, instead of one
 * slice per checkpoint.
 *
 * A batch handed to the store and not confirmed is retried as the very same array: a store may have applied a write
 * whose reply was lost, and recognises the resend by the array (Redis remembers each checkpoint batch), so it must
 * never be merged into anything else. Merged totals stay within exact integer maths: a sum that would pass 2^53 − 1
 * starts a new entry.
 */
export class UnwrittenDeltas {
  private slices: UsageDelta[][] = [];
  /** The batch handed out by {@link next} and not confirmed by {@link written} yet. */
  private inFlight: readonly UsageDelta[] | undefined;
  /** Set while the store is failing, until the merged backlog is written. */
  private merged: Map<string, MergedDelta> | undefined;
  /** Merged entries that filled up; written before the map. */
  private full: MergedDelta[] = [];
  #size = 0;
  #units = 0;

  /** Entries queued, the batch in flight included. */
  get size(): number {
    return this.#size;
  }

  /** Units queued (for reports). */
  get units(): number {
    return this.#units;
  }

  push(deltas: UsageDelta[]): void {
    if (deltas.length === 0) return;
    if (this.merged === undefined) {
      this.slices.push(deltas);
      this.#size += deltas.length;
      for (const delta of deltas) this.#units += delta.quantity;
      return;
    }
    for (const delta of deltas) this.merge(delta);
  }

  /** The store refused a write: from now on, queued and new deltas are merged by key, hour and tag set. */
  storeFailed(): void {
    if (this.merged !== undefined) return;
    this.merged = new Map();
    const slices = this.slices;
    this.slices = [];
    for (const slice of slices) {
      for (const delta of slice) {
        this.#size -= 1;
        this.#units -= delta.quantity;
        this.merge(delta);
      }
    }
  }

  /**
   * The next batch to write: the unconfirmed one again if there is one (identical), else a whole slice on the healthy
   * path or at most `limit` merged entries. Undefined when nothing is queued.
   */
  next(limit: number): readonly UsageDelta[] | undefined {
    if (this.inFlight !== undefined) return this.inFlight;
    if (this.merged === undefined) {
      this.inFlight = this.slices.shift();
      return this.inFlight;
    }
    let batch: MergedDelta[];
    if (this.full.length > 0) {
      batch = this.full.splice(0, limit);
    } else {
      batch = [];
      for (const [key, entry] of this.merged) {
        this.merged.delete(key);
        batch.push(entry);
        if (batch.length >= limit) break;
      }
    }
    if (batch.length === 0) {
      // Backlog written: back to passing slices through.
      this.merged = undefined;
      return undefined;
    }
    this.inFlight = batch;
    return batch;
  }

  /** The key ids of every queued entry (for the shutdown report's customer count). */
  *keyIds(): Iterable<string> {
    if (this.inFlight !== undefined) for (const delta of this.inFlight) yield delta.keyId;
    for (const slice of this.slices) for (const delta of slice) yield delta.keyId;
    for (const entry of this.full) yield entry.keyId;
    if (this.merged !== undefined) for (const entry of this.merged.values()) yield entry.keyId;
  }

  /** The store holds the batch {@link next} returned. */
  written(batch: readonly UsageDelta[]): void {
    if (batch !== this.inFlight) return;
    this.inFlight = undefined;
    this.#size -= batch.length;
    for (const delta of batch) this.#units -= delta.quantity;
    if (this.merged !== undefined && this.merged.size === 0 && this.full.length === 0)
      this.merged = undefined;
  }

  private merge(delta: UsageDelta): void {
    const merged = this.merged as Map<string, MergedDelta>;
    const tags = delta.tags === undefined || delta.tags === '' ? undefined : delta.tags;
    // A tag set id is JSON (no raw newline), so the three parts cannot run into each other.
    const key =
      tags === undefined
        ? `${delta.hourStart}\n${delta.keyId}`
        : `${delta.hourStart}\n${delta.keyId}\n${tags}`;
    const entry = merged.get(key);
    this.#units += delta.quantity;
    if (entry === undefined) {
      merged.set(key, mergedDeltaOf(delta, tags));
      this.#size += 1;
    } else if (entry.quantity > Number.MAX_SAFE_INTEGER - delta.quantity) {
      // The sum would leave exact integer maths: set the full entry aside and count on in a new one.
      this.full.push(entry);
      merged.set(key, mergedDeltaOf(delta, tags));
      this.#size += 1;
    } else {
      entry.quantity += delta.quantity;
    }
  }
}

function mergedDeltaOf(delta: UsageDelta, tags: string | undefined): MergedDelta {
  const entry: MergedDelta = { keyId: delta.keyId, hourStart: delta.hourStart, quantity: delta.quantity };
  if (tags !== undefined) entry.tags = tags;
  return entry;
}
