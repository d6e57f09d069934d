/** The engine's background log: failures, recoveries, refusals and carried overflow, each logged once then summed up. */
import { RepeatedLog, type RepeatSummary } from '../logging/repeated-log.js';
import { redact } from '../model/customer.js';
import {
  type MeteringEventEmitter,
  type MeteringEventName,
  type MeteringEvents,
  type UsageRejectionReason,
  usageRejectionReasons,
} from '../model/events.js';
import { describeValue } from '../model/messages.js';
import type { UsageKey } from '../model/usage-key.js';
import type { ResolvedMeteringOptions } from './options.js';

/** How much counted usage the store has not taken yet: quoted in failure lines so an outage's cost is visible. */
export interface UnwrittenBacklog {
  readonly size: number;
  readonly units: number;
}

/**
 * Refusals per reason and failures per operation: logged once, then summed up per `logSummaryMillis` (a store that
 * is down fails every checkpoint; a bad client repeats the same refusal on every request). Keeps the refusal counts
 * that `stats().rejected` reports.
 */
export class BackgroundLog {
  private readonly repeatedLog: RepeatedLog;
  /** Failures per background operation since it last succeeded, for the recovery line. */
  private readonly failures = new Map<string, number>();
  private readonly rejectedCounts: Record<UsageRejectionReason, number> = Object.fromEntries(
    usageRejectionReasons.map((r) => [r, 0]),
  ) as Record<UsageRejectionReason, number>;

  constructor(
    private readonly options: Pick<ResolvedMeteringOptions, 'logger' | 'clock' | 'logSummaryMillis'>,
    private readonly events: MeteringEventEmitter,
    private readonly unwritten: UnwrittenBacklog,
  ) {
    this.repeatedLog = new RepeatedLog(options.logSummaryMillis, (summary) => this.writeSummary(summary));
  }

  /** `record()` calls refused so far, per reason. */
  get rejected(): Record<UsageRejectionReason, number> {
    return { ...this.rejectedCounts };
  }

  /** Writes the summaries whose interval has ended; the engine calls it on every tick. */
  flush(now: number): void {
    this.repeatedLog.flush(now);
  }

  /** A listener of `event` threw: the emitter carried on; say so once, then sum up the repeats. */
  listenerThrew(error: unknown, event: MeteringEventName): void {
    const o = this.options;
    this.repeatedLog.occur(`listener:${event}`, o.clock.now(), () =>
      o.logger.error(`a listener of '${event}' threw; ignored (repeats are summed up)`, {
        error: error instanceof Error ? error.message : String(error),
      }),
    );
  }

  /**
   * A background failure: an event every time, a log line the first time, then one summary per `logSummaryMillis`.
   * Never throws: it runs inside the catch of a background task.
   */
  reportError(operation: string, error: unknown): void {
    try {
      this.failures.set(operation, (this.failures.get(operation) ?? 0) + 1);
      this.events.emit('engine.error', { operation, error });
      const o = this.options;
      this.repeatedLog.occur(`error:${operation}`, o.clock.now(), () =>
        o.logger.error(`${operation} failed; it is retried on the next tick (repeats are summed up)`, {
          error: error instanceof Error ? error.message : String(error),
          unwrittenDeltas: this.unwritten.size,
        }),
      );
    } catch {
      // The logger and the listeners are guarded; this is the last line that keeps a failure off the host.
    }
  }

  /** A background operation succeeded: after failures, say so once, with how many there were. */
  recovered(operation: string): void {
    const failures = this.failures.get(operation);
    if (failures === undefined) return;
    this.failures.delete(operation);
    this.repeatedLog.end(`error:${operation}`);
    this.options.logger.info(`${operation} recovered after ${failures} failed attempt(s)`, {
      unwrittenDeltas: this.unwritten.size,
    });
  }

  /** Counts a refusal (`usage.rejected`, whoever reported it: the tally or an adapter) and logs it. */
  noteRejection(rejection: MeteringEvents['usage.rejected']): void {
    const o = this.options;
    const reason = rejection.reason;
    if (Object.hasOwn(this.rejectedCounts, reason)) this.rejectedCounts[reason] += 1;
    this.repeatedLog.occur(`rejected:${reason}`, o.clock.now(), () =>
      o.logger.warn(`usage refused (${reason}) and not billed: ${rejection.detail} (repeats are summed up)`, {
        reason,
        dimension: describeValue(rejection.dimension),
        quantity: describeValue(rejection.quantity),
      }),
    );
  }

  /** A key's hour passed the per-record maximum at seal: the rest is billed in the next hour. */
  overflowCarried(key: UsageKey, units: number): void {
    const o = this.options;
    this.repeatedLog.occur('overflow:carried', o.clock.now(), () =>
      o.logger.warn(
        `a key's usage in one hour passed the per-record maximum (2,147,483,647); ${units} units are billed in the next hour`,
        { dimension: key.dimension, customer: redact(key.licenseArn ?? key.customerIdentifier) },
      ),
    );
  }

  /** One line per kind of repeated log line and interval. */
  private writeSummary(summary: RepeatSummary): void {
    const o = this.options;
    const seconds = Math.round(summary.millis / 1000);
    const [kind, detail] = [
      summary.kind.slice(0, summary.kind.indexOf(':')),
      summary.kind.slice(summary.kind.indexOf(':') + 1),
    ];
    if (kind === 'rejected') {
      o.logger.warn(`usage refused (${detail}) ${summary.count} more time(s) in the last ${seconds} s`, {
        reason: detail,
        count: summary.count,
        total: this.rejectedCounts[detail as UsageRejectionReason],
      });
    } else if (kind === 'error') {
      o.logger.error(
        `${detail} failed ${summary.count} more time(s) in the last ${seconds} s; still retrying`,
        {
          count: summary.count,
          unwrittenDeltas: this.unwritten.size,
          unwrittenUnits: this.unwritten.units,
        },
      );
    } else {
      o.logger.warn(`${summary.kind}: ${summary.count} more time(s) in the last ${seconds} s`);
    }
  }
}
