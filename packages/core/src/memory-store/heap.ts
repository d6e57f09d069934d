/** A binary min-heap; `before(a, b)` is true when `a` must come out first. */
export class MinHeap<T> {
  private readonly items: T[] = [];
  constructor(private readonly before: (a: T, b: T) => boolean) {}

  get size(): number {
    return this.items.length;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  push(item: T): void {
    const items = this.items;
    // Move parents down into the hole and write the item once: no swap allocates or writes twice.
    let i = items.length;
    items.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const above = items[parent] as T;
      if (!this.before(item, above)) break;
      items[i] = above;
      i = parent;
    }
    items[i] = item;
  }

  pop(): T | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    const length = items.length;
    if (length > 0 && last !== undefined) {
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= length) break;
        const right = left + 1;
        let child = left;
        if (right < length && this.before(items[right] as T, items[left] as T)) child = right;
        const below = items[child] as T;
        if (!this.before(below, last)) break;
        items[i] = below;
        i = child;
      }
      items[i] = last;
    }
    return top;
  }
}
