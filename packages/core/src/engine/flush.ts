/** The flush: checkpoint, seal closed hours in slices, then send what is due, within a deadline. One at a time. */
import { type DispatchCounts, type Dispatcher, emptyCounts } from '../dispatch/dispatcher.js';
import type { MeteringEventEmitter } from '../model/events.js';
import { keyFromId } from '../model/usage-key.js';
import { sleep, yieldToEventLoop } from '../time/clock.js';
import { HOUR_MILLIS, hourStartOf } from '../time/hours.js';
import type { BackgroundLog } from './background-log.js';
import type { Checkpointer } from './checkpoint.js';
import type { FlushReport } from './flush-report.js';
import type { ZeroUsageHeartbeats } from './heartbeats.js';
import { Lane } from './lane.js';
import type { ResolvedMeteringOptions } from './options.js';

/** Which hours are sealed: every hour starting before `before`. Shared with the checkpoint, for `usage.late`. */
export class SealedHours {
  before = Number.NEGATIVE_INFINITY;
}

type FlushOptions = Pick<
  ResolvedMeteringOptions,
  | 'store'
  | 'clock'
  | 'timers'
  | 'sealDelayMillis'
  | 'sliceSize'
  | 'retryBaseMillis'
  | 'dispatchIntervalMillis'
>;

/**
 * Seals and sends, one flush at a time (its own lane): the tick's background pass, `forceFlush()`, the seal on
 * `unsubscribe-pending` and the shutdown's drain all queue here.
 */
export class Flusher {
  private readonly lane = new Lane();
  private lastDispatchAt = Number.NEGATIVE_INFINITY;
  private heartbeats: ZeroUsageHeartbeats | undefined;

  constructor(
    private readonly options: FlushOptions,
    private readonly events: MeteringEventEmitter,
    private readonly dispatcher: Dispatcher,
    private readonly checkpointer: Checkpointer,
    private readonly sealed: SealedHours,
    private readonly log: BackgroundLog,
    /** False once a shutdown begins: a background pass then stops sending, and the shutdown's own drain takes over. */
    private readonly running: () => boolean,
  ) {}

  /** Adds zero-usage heartbeats to every hour sealed from now on. */
  attachHeartbeats(heartbeats: ZeroUsageHeartbeats): void {
    this.heartbeats = heartbeats;
  }

  /** Hours starting before this instant are closed at `now`. */
  closeBefore(now: number): number {
    return hourStartOf(now - this.options.sealDelayMillis);
  }

  /** Whether the tick should start a background pass: none is running, and an hour closed or sending is due. */
  dueInBackground(now: number): boolean {
    const sealDue = this.closeBefore(now) > this.sealed.before;
    return !this.lane.busy && (sealDue || now - this.lastDispatchAt >= this.options.dispatchIntervalMillis);
  }

  /** The tick's pass: checkpoint, seal closed hours, send what is due (no deadline; a shutdown stops it). */
  background(): Promise<void> {
    return this.lane.run(async () => {
      await this.checkpointer.run();
      await this.sealClosed(false);
      await this.dispatchDue(Number.POSITIVE_INFINITY, emptyCounts(), true);
    });
  }

  /**
   * Queues a flush: checkpoint, seal (the open hour too with `sealOpenHour`), send until nothing is due or `deadline`
   * passes, and with `waitForRetries` wait for records backing off until the deadline.
   */
  run(deadline: number, sealOpenHour: boolean, waitForRetries: boolean): Promise<FlushReport> {
    return this.lane.run(() => this.flushUntil(deadline, sealOpenHour, waitForRetries));
  }

  private async flushUntil(
    deadline: number,
    sealOpenHour: boolean,
    waitForRetries: boolean,
  ): Promise<FlushReport> {
    const o = this.options;
    const counts = emptyCounts();
    const checkpointedUnits = await this.checkpointer.run();
    const sealedRecords = await this.sealClosed(sealOpenHour);
    let timedOut = false;
    for (;;) {
      await this.dispatchDue(deadline, counts);
      const stats = await o.store.stats();
      const outstanding = stats.outboxReady + stats.outboxWaiting + stats.outboxLeased;
      if (outstanding === 0 || !waitForRetries) break;
      const remaining = deadline - o.clock.now();
      if (remaining <= 0) {
        timedOut = true;
        break;
      }
      // Records are waiting for a retry: wait a little (on the injected timers) and try again.
      await sleep(o.timers, Math.min(remaining, Math.max(50, o.retryBaseMillis)));
    }
    if (o.clock.now() >= deadline) timedOut = true;
    const after = await o.store.stats();
    return {
      ...counts,
      checkpointedUnits,
      sealedRecords,
      pending: after.outboxReady + after.outboxWaiting + after.outboxLeased,
      timedOut,
    };
  }

  /** Seals closed hours (and, at a memory-store shutdown, the open one), in slices. */
  private async sealClosed(includeOpenHour: boolean): Promise<number> {
    const o = this.options;
    const now = o.clock.now();
    const closeBefore = includeOpenHour ? hourStartOf(now) + HOUR_MILLIS : this.closeBefore(now);
    // Only closed hours get heartbeats, even when a shutdown seals the open one: its hour is not over.
    await this.addHeartbeats(this.closeBefore(now));
    let sealed = 0;
    let units = 0;
    for (;;) {
      const slice = await this.sealSlice(closeBefore);
      sealed += slice.records;
      units += slice.units;
      if (!slice.more) break;
      await yieldToEventLoop();
    }
    if (closeBefore > this.sealed.before) this.sealed.before = closeBefore;
    if (sealed > 0) this.events.emit('records.sealed', { records: sealed, units });
    return sealed;
  }

  /** One slice of sealing, as the store counted it (the records stay in the outbox until claimed). */
  private async sealSlice(closeBefore: number): Promise<{ records: number; units: number; more: boolean }> {
    const result = await this.options.store.sealClosedHours(closeBefore, this.options.sliceSize);
    for (const carry of result.carried ?? []) this.reportOverflow(carry.keyId, carry.fromHour, carry.units);
    if (result.rolledUpTagSets !== undefined && result.rolledUpTagSets > 0)
      this.events.emit('allocations.rolled-up', { tagSets: result.rolledUpTagSets });
    return { records: result.sealedRecords, units: result.sealedUnits, more: result.more };
  }

  /** Heartbeats never hold up sealing: a registry that fails is reported, and usage is sealed all the same. */
  private async addHeartbeats(closeBefore: number): Promise<void> {
    if (this.heartbeats === undefined) return;
    try {
      await this.heartbeats.addBefore(closeBefore);
    } catch (error) {
      this.log.reportError('heartbeats', error);
    }
  }

  /**
   * Sends due records until none is due or `deadline` passes. A background pass (`background`) also stops as soon as a
   * shutdown begins: the shutdown's own drain, bounded by its deadline, takes over.
   */
  private async dispatchDue(deadline: number, counts: DispatchCounts, background = false): Promise<void> {
    const o = this.options;
    this.lastDispatchAt = o.clock.now();
    while (o.clock.now() < deadline && !(background && !this.running())) {
      const claimed = await this.dispatcher.pass(counts, deadline);
      if (claimed === 0) break;
      // With a fast sink and an idle rate limit, passes chain as microtasks: let requests in between them.
      await yieldToEventLoop();
    }
  }

  /** A key's hour passed the per-record maximum at seal: the event, and a (summed-up) warning. */
  private reportOverflow(keyId: string, fromHour: number, units: number): void {
    const key = keyFromId(keyId);
    const toHour = fromHour + HOUR_MILLIS;
    this.events.emit('usage.overflow-carried', { key, fromHour, toHour, units });
    this.log.overflowCarried(key, units);
  }
}
