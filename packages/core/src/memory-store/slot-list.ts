const CHUNK_BITS = 12;
const CHUNK = 1 << CHUNK_BITS;
const MASK = CHUNK - 1;

/**
 * A list of non-negative integers (slots) used as a stack or a queue, stored in fixed chunks. An array grows by
 * copying everything it holds in one step, a few milliseconds at a million entries; this grows one chunk at a time.
 */
export class SlotList {
  private chunks: Int32Array[] = [];
  /** Position of the first entry in `chunks[0]`. */
  private start = 0;
  private length = 0;

  get size(): number {
    return this.length;
  }

  push(slot: number): void {
    const at = this.start + this.length;
    const chunk = at >> CHUNK_BITS;
    if (chunk === this.chunks.length) this.chunks.push(new Int32Array(CHUNK));
    (this.chunks[chunk] as Int32Array)[at & MASK] = slot;
    this.length += 1;
  }

  /** Removes and returns the last entry, or -1 when empty. */
  pop(): number {
    if (this.length === 0) return -1;
    this.length -= 1;
    const at = this.start + this.length;
    const slot = (this.chunks[at >> CHUNK_BITS] as Int32Array)[at & MASK] as number;
    if (this.length === 0) this.clear();
    else if ((at & MASK) === 0) this.chunks.length = at >> CHUNK_BITS;
    return slot;
  }

  /** The first entry, or -1 when empty. */
  first(): number {
    return this.length === 0 ? -1 : ((this.chunks[0] as Int32Array)[this.start] as number);
  }

  /** Removes and returns the first entry, or -1 when empty. */
  shift(): number {
    if (this.length === 0) return -1;
    const slot = (this.chunks[0] as Int32Array)[this.start] as number;
    this.length -= 1;
    this.start += 1;
    if (this.length === 0) this.clear();
    else if (this.start === CHUNK) {
      this.chunks.shift();
      this.start = 0;
    }
    return slot;
  }

  clear(): void {
    this.chunks = [];
    this.start = 0;
    this.length = 0;
  }
}
