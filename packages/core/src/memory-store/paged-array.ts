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
 * fresh typed array does. Made by the factory of its page kind: `PagedArray.float64()`, `int32()`, `uint8()`,
 * `values()`.
 */
export abstract class PagedArray<T> {
  protected pages: Page<T>[] = [];

  static float64(): PagedArray<number> {
    return new Float64Pages();
  }

  static int32(): PagedArray<number> {
    return new Int32Pages();
  }

  static uint8(): PagedArray<number> {
    return new Uint8Pages();
  }

  /** Pages of plain arrays, for strings and objects; a slot never set (or cleared) holds undefined. */
  static values<V>(): PagedArray<V | undefined> {
    return new ValuePages<V>();
  }

  /** Pages allocated. */
  get pageCount(): number {
    return this.pages.length;
  }

  abstract get(index: number): T;

  /** Sets slot `index` (a non-negative integer), allocating the pages up to it first if needed. */
  abstract set(index: number, value: T): void;

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

  protected abstract newPage(): Page<T>;

  /** Appends pages until page `pageIndex` exists (pages are dense: none is ever missing below the last). */
  protected grow(pageIndex: number): Page<T> {
    let page: Page<T>;
    do {
      page = this.newPage();
      this.pages.push(page);
    } while (this.pages.length <= pageIndex);
    return page;
  }
}

// Each page kind has its own `get` and `set`, written alike. One shared pair would meet every kind of page at the same
// element access, and V8 optimizes an access that sees one kind of array better than one that sees four.

class Float64Pages extends PagedArray<number> {
  get(index: number): number {
    const page = this.pages[index >>> PAGE_BITS];
    return page === undefined ? 0 : (page[index & PAGE_MASK] ?? 0);
  }

  set(index: number, value: number): void {
    (this.pages[index >>> PAGE_BITS] ?? this.grow(index >>> PAGE_BITS))[index & PAGE_MASK] = value;
  }

  protected newPage(): Float64Array {
    return new Float64Array(PAGE_SIZE);
  }
}

class Int32Pages extends PagedArray<number> {
  get(index: number): number {
    const page = this.pages[index >>> PAGE_BITS];
    return page === undefined ? 0 : (page[index & PAGE_MASK] ?? 0);
  }

  set(index: number, value: number): void {
    (this.pages[index >>> PAGE_BITS] ?? this.grow(index >>> PAGE_BITS))[index & PAGE_MASK] = value;
  }

  protected newPage(): Int32Array {
    return new Int32Array(PAGE_SIZE);
  }
}

class Uint8Pages extends PagedArray<number> {
  get(index: number): number {
    const page = this.pages[index >>> PAGE_BITS];
    return page === undefined ? 0 : (page[index & PAGE_MASK] ?? 0);
  }

  set(index: number, value: number): void {
    (this.pages[index >>> PAGE_BITS] ?? this.grow(index >>> PAGE_BITS))[index & PAGE_MASK] = value;
  }

  protected newPage(): Uint8Array {
    return new Uint8Array(PAGE_SIZE);
  }
}

class ValuePages<V> extends PagedArray<V | undefined> {
  get(index: number): V | undefined {
    return this.pages[index >>> PAGE_BITS]?.[index & PAGE_MASK];
  }

  set(index: number, value: V | undefined): void {
    (this.pages[index >>> PAGE_BITS] ?? this.grow(index >>> PAGE_BITS))[index & PAGE_MASK] = value;
  }

  protected newPage(): (V | undefined)[] {
    return new Array<V | undefined>(PAGE_SIZE).fill(undefined);
  }
}
