/** Deltas drained from the tally that the store has not taken yet: passed through in order, merged during outages. */
import type { UsageDelta } from './store.js';

interface MergedDelta {
  keyId: string;
  hourStart: number;
  quantity: number;
}

/**
 * The queue between the tally and the store. While the store answers, slices pass through in the order they were
 * drained, untouched (no per-delta work on the healthy path). Once a write fails, everything queued is merged by key
 * and hour: a store outage then holds one entry per key and hour however many checkpoints it lasts, instead of one
 * slice per checkpoint. Merged totals stay within exact integer maths: a sum that would pass 2^53 − 1 starts a new entry.
 */
export class UnwrittenDeltas {
  private slices: UsageDelta[][] = [];
  /** Set while the store is failing (and until the merged backlog is written). */
  private merged: Map<string, MergedDelta> | undefined;
  /** Merged entries that filled up; written before the map. */
  private full: MergedDelta[] = [];
  #size = 0;
  #units = 0;

  /** Entries queued. */
  get size(): number {
    return this.#size;
  }

  /** Units queued (for reports; exact while below 2^53). */
  get units(): number {
    return this.#units;
  }

  get merging(): boolean {
    return this.merged !== undefined;
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

  /** The store refused a write: from now on, queued and new deltas are merged by key and hour. */
  storeFailed(): void {
    if (this.merged !== undefined) return;
    this.merged = new Map();
    const slices = this.slices;
    this.slices = [];
    this.#size = 0;
    this.#units = 0;
    for (const slice of slices) for (const delta of slice) this.merge(delta);
  }

  /** The next batch to write, at most `limit` entries (a whole slice on the healthy path), or undefined when empty. */
  next(limit: number): readonly UsageDelta[] | undefined {
    if (this.merged === undefined) return this.slices[0];
    if (this.full.length > 0) return this.full.slice(0, limit);
    if (this.merged.size === 0) return undefined;
    const batch: UsageDelta[] = [];
    for (const entry of this.merged.values()) {
      batch.push({ keyId: entry.keyId, hourStart: entry.hourStart, quantity: entry.quantity });
      if (batch.length >= limit) break;
    }
    return batch;
  }

  /** Removes the batch {@link next} returned, now that the store holds it. */
  written(batch: readonly UsageDelta[]): void {
    if (this.merged === undefined) {
      this.slices.shift();
    } else {
      if (this.full.length > 0) this.full.splice(0, batch.length);
      else for (const delta of batch) this.merged.delete(mapKey(delta));
      // Back to passing slices through once the backlog is written.
      if (this.full.length === 0 && this.merged.size === 0) this.merged = undefined;
    }
    this.#size -= batch.length;
    for (const delta of batch) this.#units -= delta.quantity;
  }

  private merge(delta: UsageDelta): void {
    const merged = this.merged as Map<string, MergedDelta>;
    const key = mapKey(delta);
    const entry = merged.get(key);
    this.#units += delta.quantity;
    if (entry === undefined) {
      merged.set(key, { keyId: delta.keyId, hourStart: delta.hourStart, quantity: delta.quantity });
      this.#size += 1;
    } else if (entry.quantity > Number.MAX_SAFE_INTEGER - delta.quantity) {
      // The sum would leave exact integer maths: set the full entry aside and count on in a new one.
      this.full.push(entry);
      merged.set(key, { keyId: delta.keyId, hourStart: delta.hourStart, quantity: delta.quantity });
      this.#size += 1;
    } else {
      entry.quantity += delta.quantity;
    }
  }
}

function mapKey(delta: UsageDelta): string {
  return `${delta.hourStart}\n${delta.keyId}`;
}
