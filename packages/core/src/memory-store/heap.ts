/**
 * A binary min-heap; `before(a, b)` is true when `a` must come out first. Items are never undefined, so a place that
 * reads undefined is past the end.
 */
export class MinHeap<T extends object | number> {
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
      const above = items[parent];
      if (above === undefined || !this.before(item, above)) break;
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
        let child = left;
        let below = items[left];
        if (below === undefined) break;
        const right = items[left + 1];
        if (right !== undefined && this.before(right, below)) {
          child = left + 1;
          below = right;
        }
        if (!this.before(below, last)) break;
        items[i] = below;
        i = child;
      }
      items[i] = last;
    }
    return top;
  }
}
