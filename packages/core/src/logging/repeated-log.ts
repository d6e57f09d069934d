/** Rate-limits repeated log lines: the first of a kind is written in full, then one summary per interval, with a count. */

/** What a summary line reports about one kind of line. */
export interface RepeatSummary {
  readonly kind: string;
  /** Occurrences since the last line written for this kind. */
  readonly count: number;
  /** How long those occurrences took, from the last line written. */
  readonly millis: number;
}

interface KindState {
  /** When the last line (first or summary) for this kind was written. */
  lastWrittenAt: number;
  /** Occurrences not written since then. */
  suppressed: number;
}

/**
 * Keeps a log readable when the same failure repeats thousands of times a second (a store that is down, a client that
 * sends bad customer ids): the first occurrence of a kind is written at once, then at most one summary per kind per
 * `intervalMillis`, counting what it stood for. Time comes from the caller (the engine's injected clock).
 */
export class RepeatedLog {
  readonly #kinds = new Map<string, KindState>();

  constructor(
    private readonly intervalMillis: number,
    private readonly writeSummary: (summary: RepeatSummary) => void,
  ) {}

  /**
   * Notes one occurrence of `kind` at `now`; calls `writeFirst` when it is the first of its kind (or the first since
   * the kind went quiet), otherwise counts it and writes a summary when the interval has passed.
   */
  occur(kind: string, now: number, writeFirst: () => void): void {
    const state = this.#kinds.get(kind);
    if (state === undefined) {
      this.#kinds.set(kind, { lastWrittenAt: now, suppressed: 0 });
      writeFirst();
      return;
    }
    state.suppressed += 1;
    if (now - state.lastWrittenAt >= this.intervalMillis) this.summarise(kind, state, now);
  }

  /**
   * Writes the summaries that are due at `now`, and forgets kinds that stayed quiet for a whole interval (so their next
   * occurrence is written in full again). Run it periodically, or the count of the last burst is never written.
   */
  flush(now: number): void {
    for (const [kind, state] of this.#kinds) {
      if (now - state.lastWrittenAt < this.intervalMillis) continue;
      if (state.suppressed > 0) this.summarise(kind, state, now);
      else this.#kinds.delete(kind);
    }
  }

  /**
   * Ends a kind (the failure recovered): returns how many occurrences were not written yet, and forgets the kind.
   */
  end(kind: string): number {
    const state = this.#kinds.get(kind);
    if (state === undefined) return 0;
    this.#kinds.delete(kind);
    return state.suppressed;
  }

  has(kind: string): boolean {
    return this.#kinds.has(kind);
  }

  private summarise(kind: string, state: KindState, now: number): void {
    const summary = { kind, count: state.suppressed, millis: now - state.lastWrittenAt };
    state.suppressed = 0;
    state.lastWrittenAt = now;
    this.writeSummary(summary);
  }
}
