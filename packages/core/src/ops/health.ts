// Whether billing is healthy: records still inside the service window, dead letters bounded, the sink answering.
import type { MeteringEngine } from '../engine/metering-engine.js';
import { MeteringConfigurationError } from '../model/errors.js';
import { formatHour, HOUR_MILLIS } from '../time/hours.js';
import { windowClosesAt } from './service-window.js';
import { type SinkState, SinkWatch } from './sink-watch.js';

/** Bounds of {@link MeteringHealth}. */
export interface MeteringHealthOptions {
  /** Unhealthy when the oldest pending record has less than this left before the service refuses it. @default 21_600_000 (6 h) */
  minWindowLeftMillis?: number;
  /** Unhealthy when more dead letters than this wait for an operator. @default 100 */
  maxDeadLetters?: number;
  /** Unhealthy when calls to the sink have failed for longer than this. @default 900_000 (15 min) */
  maxSinkFailureMillis?: number;
}

/** One check's verdict. */
export interface HealthCheckResult {
  readonly healthy: boolean;
  readonly detail: string;
}

/** The answer of {@link MeteringHealth.check}; safe to put in a response body (no customer identifiers). */
export interface MeteringHealthReport {
  readonly healthy: boolean;
  readonly at: string;
  readonly state: string;
  readonly checks: {
    readonly oldestPending: HealthCheckResult & {
      readonly hour: string | undefined;
      readonly windowLeftMillis: number | undefined;
    };
    readonly deadLetters: HealthCheckResult & { readonly count: number; readonly max: number };
    readonly sink: HealthCheckResult &
      SinkState & { readonly failingForMillis: number; readonly maxFailureMillis: number };
  };
  readonly pendingRecords: number;
  readonly openUnits: number;
}

function bound(field: keyof MeteringHealthOptions, value: number | undefined, fallback: number): number {
  const resolved = value ?? fallback;
  if (!Number.isSafeInteger(resolved) || resolved < 0) {
    throw new MeteringConfigurationError(
      'ERR_METERING_INVALID_OPTION',
      field,
      `Health option \`${field}\` is ${JSON.stringify(value)}, but it must be a non-negative integer.`,
    );
  }
  return resolved;
}

/**
 * Judges an engine's health from its stats, its store and its events. Create it when the app starts (it follows
 * the sink's calls from then on); `check()` reads the store, so call it from a health route, not per request.
 */
export class MeteringHealth {
  readonly #engine: MeteringEngine;
  readonly #watch: SinkWatch;
  readonly minWindowLeftMillis: number;
  readonly maxDeadLetters: number;
  readonly maxSinkFailureMillis: number;

  constructor(engine: MeteringEngine, options: MeteringHealthOptions = {}) {
    this.#engine = engine;
    this.minWindowLeftMillis = bound('minWindowLeftMillis', options.minWindowLeftMillis, 6 * HOUR_MILLIS);
    this.maxDeadLetters = bound('maxDeadLetters', options.maxDeadLetters, 100);
    this.maxSinkFailureMillis = bound('maxSinkFailureMillis', options.maxSinkFailureMillis, 15 * 60_000);
    this.#watch = new SinkWatch(engine.events, () => engine.options.clock.now());
  }

  /** The sink's last call and failure run, as followed since this object was created. */
  sinkState(): SinkState {
    return this.#watch.state();
  }

  async check(): Promise<MeteringHealthReport> {
    const o = this.#engine.options;
    const now = o.clock.now();
    const [stats, oldest] = await Promise.all([this.#engine.stats(), o.store.pending(1)]);
    const first = oldest[0];
    const windowLeftMillis = first === undefined ? undefined : windowClosesAt(first.hourStart, o) - now;
    const windowOk = windowLeftMillis === undefined || windowLeftMillis >= this.minWindowLeftMillis;
    const sink = this.#watch.state();
    const failingForMillis = sink.failingSince === undefined ? 0 : now - sink.failingSince;
    const sinkOk = failingForMillis <= this.maxSinkFailureMillis;
    const deadOk = stats.deadLetters <= this.maxDeadLetters;
    return {
      healthy: windowOk && sinkOk && deadOk,
      at: new Date(now).toISOString(),
      state: stats.state,
      checks: {
        oldestPending: {
          healthy: windowOk,
          hour: first === undefined ? undefined : formatHour(first.hourStart),
          windowLeftMillis,
          detail:
            first === undefined
              ? 'nothing pending'
              : windowOk
                ? `the oldest pending record (${formatHour(first.hourStart)}) has ${windowLeftMillis} ms left in the service window`
                : `the oldest pending record (${formatHour(first.hourStart)}) has ${windowLeftMillis} ms left in the service window, less than ${this.minWindowLeftMillis} ms`,
        },
        deadLetters: {
          healthy: deadOk,
          count: stats.deadLetters,
          max: this.maxDeadLetters,
          detail: deadOk
            ? `${stats.deadLetters} dead letters (at most ${this.maxDeadLetters})`
            : `${stats.deadLetters} dead letters wait for an operator (more than ${this.maxDeadLetters}): meterkit dead-letters list`,
        },
        sink: {
          healthy: sinkOk,
          ...sink,
          failingForMillis,
          maxFailureMillis: this.maxSinkFailureMillis,
          detail:
            sink.failingSince === undefined
              ? 'the sink answers'
              : `calls to the sink have failed for ${failingForMillis} ms (${sink.failedCalls} calls)`,
        },
      },
      pendingRecords: stats.outboxReady + stats.outboxWaiting + stats.outboxLeased,
      openUnits: stats.openUnits,
    };
  }

  /** Stops following the engine's events. */
  close(): void {
    this.#watch.close();
  }
}
