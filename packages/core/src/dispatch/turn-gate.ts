/**
 * Lets tasks through one per event-loop turn, in the order they asked. Yielding alone is not enough: tasks that
 * yield together (export workers answered at once by a fast sink) all resume in the same turn, and that turn then runs
 * every one of their next units of work back to back.
 */
export class TurnGate {
  private readonly waiting: (() => void)[] = [];
  private scheduled = false;

  /** Resolves in a later turn than this one, after every earlier caller has had a turn of its own. */
  next(): Promise<void> {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.waiting.shift()?.();
      if (this.waiting.length > 0) this.schedule();
    });
  }
}
