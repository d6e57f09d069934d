// Follows an engine's calls to the sink through its events, for health checks and status: last outcome, failing since.
import type { ExportCallOutcome, MeteringEventEmitter } from '../model/events.js';

/** The last call to the sink and whether the sink is failing now. */
export interface SinkState {
  readonly lastCall:
    | { readonly outcome: ExportCallOutcome; readonly code: string | undefined; readonly at: number }
    | undefined;
  /** When the current run of failed calls began, or undefined while the sink answers. */
  readonly failingSince: number | undefined;
  readonly failedCalls: number;
}

/**
 * Keeps the sink's state from `export.completed`, `sink.failing` and `sink.recovered`. Costs one listener per event,
 * called once per call to the sink (never per request).
 */
export class SinkWatch {
  #lastCall: SinkState['lastCall'];
  #failingSince: number | undefined;
  #failedCalls = 0;
  readonly #unsubscribe: (() => void)[];

  constructor(events: MeteringEventEmitter, now: () => number) {
    this.#unsubscribe = [
      events.on('export.completed', (e) => {
        this.#lastCall = { outcome: e.outcome, code: e.code, at: now() };
        if (this.#failingSince !== undefined && isFailure(e.outcome)) {
          this.#failedCalls += 1;
        }
      }),
      events.on('sink.failing', (e) => {
        this.#failingSince = e.since;
        this.#failedCalls = 1;
      }),
      events.on('sink.recovered', () => {
        this.#failingSince = undefined;
        this.#failedCalls = 0;
      }),
    ];
  }

  state(): SinkState {
    return { lastCall: this.#lastCall, failingSince: this.#failingSince, failedCalls: this.#failedCalls };
  }

  /** Stops listening. */
  close(): void {
    for (const off of this.#unsubscribe) off();
  }
}

/** Whether a call's outcome counts as the sink failing (throttling does not: the service is there, and busy). */
export function isFailure(outcome: ExportCallOutcome): boolean {
  return outcome !== 'answered' && outcome !== 'rejected' && outcome !== 'throttled';
}
