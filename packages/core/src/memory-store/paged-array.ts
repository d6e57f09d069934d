/** An array kept in fixed pages of 4,096 slots, grown a page at a time: the memory store's columns and lists. */

const PAGE_BITS = 12;
/** Slots per page. */
export const PAGE_SIZE = 1 << PAGE_BITS;
const PAGE_MASK = PAGE_SIZE - 1;

/** What a page is: a typed array for numbers, a plain array for anything else. */
interface Page<T> {
  [slot: number]: T;
}

/**
 * An array indexed from 0 whose storage is a list of pages of {@link PAGE_SIZE} slots, each allocated the first time
 * a slot in it is set. An array or a typed array grows by copying everything it holds in one step (allocate, zero,
 * copy), an event-loop stall that lengthens with its size (figures in bench/README.md, "Why the code is shaped this
 * way: measurements"); this never copies, and gives whole pages back (from either end) when a list shrinks.
 *
 * A slot never set reads as the blank value of the page kind (0, or undefined for {@link PagedArray.values}), as a
 * fresh typed array does.
 */
export class PagedArray<T> {
  private pages: Page<T>[] = [];

  private constructor(
    private readonly newPage: () => Page<T>,
    private readonly blank: T,
  ) {}

  static float64(): PagedArray<number> {
    return new PagedArray(() => new Float64Array(PAGE_SIZE), 0);
  }

  static int32(): PagedArray<number> {
    return new PagedArray(() => new Int32Array(PAGE_SIZE), 0);
  }

  static uint8(): PagedArray<number> {
    return new PagedArray(() => new Uint8Array(PAGE_SIZE), 0);
  }

  /** Pages of plain arrays, for strings and objects; a slot never set (or cleared) holds undefined. */
  static values<V>(): PagedArray<V | undefined> {
    return new PagedArray<V | undefined>(
      () => new Array<V | undefined>(PAGE_SIZE).fill(undefined),
      undefined,
    );
  }

  /** Pages allocated. */
  get pageCount(): number {
    return this.pages.length;
  }

  get(index: number): T {
    const page = this.pages[index >>> PAGE_BITS];
    if (page === undefined) return this.blank;
    return page[index & PAGE_MASK] ?? this.blank;
  }

  /** Sets slot `index` (a non-negative integer), allocating the pages up to it first if needed. */
  set(index: number, value: T): void {
    const page = this.pages[index >>> PAGE_BITS] ?? this.grow(index >>> PAGE_BITS);
    page[index & PAGE_MASK] = value;
  }

  /**
   * Gives back the pages that hold no slot below `length`: their slots read as blank again. The page holding slot
   * `length - 1` is kept whole, slots past `length` in it included (lists track their own length).
   */
  truncate(length: number): void {
    const kept = (length + PAGE_MASK) >>> PAGE_BITS;
    if (kept < this.pages.length) this.pages.length = kept;
  }

  /** Gives back the first page: every later slot moves down by {@link PAGE_SIZE} (slot `PAGE_SIZE` becomes 0). */
  dropFirstPage(): void {
    this.pages.shift();
  }

  /** Gives back every page. */
  clear(): void {
    this.pages = [];
  }

  /** Appends pages until page `pageIndex` exists (pages are dense: none is ever missing below the last). */
  private grow(pageIndex: number): Page<T> {
    let page: Page<T>;
    do {
      page = this.newPage();
      this.pages.push(page);
    } while (this.pages.length <= pageIndex);
    return page;
  }
}
