/** A stack or queue of outbox slots, grown and given back a page at a time. */
import { PAGE_SIZE, PagedArray } from './paged-array.js';

/**
 * A list of non-negative integers (slots) used as a stack or a queue, in a {@link PagedArray}: an array grows by
 * copying everything it holds in one step; this grows one page at a time.
 */
export class SlotList {
  private readonly entries = PagedArray.int32();
  /** Index of the first entry in `entries` (always within its first page). */
  private start = 0;
  private length = 0;

  get size(): number {
    return this.length;
  }

  push(slot: number): void {
    this.entries.set(this.start + this.length, slot);
    this.length += 1;
  }

  /** Removes and returns the last entry, or -1 when empty. */
  pop(): number {
    if (this.length === 0) return -1;
    this.length -= 1;
    const at = this.start + this.length;
    const slot = this.entries.get(at);
    if (this.length === 0) this.clear();
    else this.entries.truncate(at);
    return slot;
  }

  /** The first entry, or -1 when empty. */
  first(): number {
    return this.length === 0 ? -1 : this.entries.get(this.start);
  }

  /** Removes and returns the first entry, or -1 when empty. */
  shift(): number {
    if (this.length === 0) return -1;
    const slot = this.entries.get(this.start);
    this.length -= 1;
    this.start += 1;
    if (this.length === 0) this.clear();
    else if (this.start === PAGE_SIZE) {
      this.entries.dropFirstPage();
      this.start = 0;
    }
    return slot;
  }

  clear(): void {
    this.entries.clear();
    this.start = 0;
    this.length = 0;
  }
}
