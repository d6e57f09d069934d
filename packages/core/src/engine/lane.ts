/** A serial lane: tasks on it run one at a time, in order, so a checkpoint or a flush never overlaps itself. */
export class Lane {
  private tail: Promise<unknown> = Promise.resolve();
  /** True while a task runs: background ticks skip a busy lane rather than queue behind it. */
  busy = false;

  /** Runs `task` after every task queued before it; a task that fails does not stop the ones after it. */
  run<T>(task: () => Promise<T>): Promise<T> {
    const next = this.tail.then(async () => {
      this.busy = true;
      try {
        return await task();
      } finally {
        this.busy = false;
      }
    });
    this.tail = next.catch(() => undefined);
    return next;
  }
}
