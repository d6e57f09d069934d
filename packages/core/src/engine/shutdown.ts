/** The drain at shutdown, and the count and report of what it left unbilled. */
import { type Dispatcher, emptyCounts } from '../dispatch/dispatcher.js';
import type { MeteringEventEmitter } from '../model/events.js';
import type { UsageRecord } from '../model/usage-key.js';
import type { Flusher } from './flush.js';
import type { FlushReport } from './flush-report.js';
import type { ResolvedMeteringOptions } from './options.js';
import {
  anythingLost,
  customerOfKey,
  leftLine,
  nothingLeft,
  summaryLine,
  type UsageLeftAtShutdown,
} from './shutdown-report.js';
import type { UnwrittenDeltas } from './unwritten-deltas.js';

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Drains at shutdown within a deadline, then counts and reports what is left: never dropped silently. */
export class ShutdownDrain {
  /** Keys whose usage a shutdown's drain carried forward: their customers count in the shutdown report. */
  private readonly carriedKeys = new Set<string>();

  constructor(
    private readonly options: Pick<ResolvedMeteringOptions, 'store' | 'clock' | 'timers' | 'logger'>,
    private readonly events: MeteringEventEmitter,
    private readonly dispatcher: Dispatcher,
    private readonly flusher: Flusher,
    private readonly unwritten: UnwrittenDeltas,
  ) {}

  /** A record was carried forward during the shutdown's drain. */
  noteCarried(keyId: string): void {
    this.carriedKeys.add(keyId);
  }

  /**
   * Checkpoints, seals and sends until `deadline`. A store that outlives the process keeps its open hour and what is
   * not sent yet; the memory store seals the open hour too and waits for retries until the deadline.
   */
  async drain(deadline: number): Promise<FlushReport> {
    const o = this.options;
    const keepsOpenHours = o.store.scope !== 'process';
    // A store that outlives the process keeps what is not sent yet (and, when shared, another replica may be the one
    // sending it), so only the memory store waits for retries until the deadline.
    // A background pass may hold the flush lane with a call in flight: cut what is still in flight at the deadline.
    const cutTimer = o.timers.setTimeout(
      () => this.dispatcher.cutInFlight(),
      Math.max(0, deadline - o.clock.now()),
    );
    try {
      return await this.flusher.run(deadline, !keepsOpenHours, !keepsOpenHours);
    } catch (error) {
      // The store failed mid-drain: still report what can be read, then close.
      this.events.emit('engine.error', { operation: 'shutdown', error });
      o.logger.error('shutdown: the final drain failed', { error: errorText(error) });
      return { ...emptyCounts(), checkpointedUnits: 0, sealedRecords: 0, pending: 0, timedOut: false };
    } finally {
      o.timers.clearTimeout(cutTimer);
    }
  }

  /**
   * `report` with what the drain left (`left`), after logging it and emitting `usage.unsent-at-shutdown` when
   * anything was left. Reads the store, so it runs before the store is closed; a store that cannot be read is logged
   * and the report goes back without `left`.
   */
  async withUsageLeft(report: FlushReport): Promise<FlushReport> {
    const o = this.options;
    const found = await this.usageLeft(report).catch((error: unknown) => {
      this.events.emit('engine.error', { operation: 'shutdown report', error });
      o.logger.error(
        'shutdown: the store could not be read to count what is left unbilled; whatever it holds stays in it, and ' +
          'counts it never accepted are lost with this process',
        { error: errorText(error), unwrittenDeltas: this.unwritten.size },
      );
      return undefined;
    });
    if (found === undefined) return report;
    const withLeft = { ...report, left: found.left };
    this.reportLeft(withLeft, found.left, found.records);
    return withLeft;
  }

  /** What the drain left unbilled, by kind. */
  private async usageLeft(
    report: FlushReport,
  ): Promise<{ left: UsageLeftAtShutdown; records: readonly UsageRecord[] }> {
    const o = this.options;
    const pending = await o.store.pending(Number.MAX_SAFE_INTEGER);
    const stats = await o.store.stats();
    const customers = new Set<string>();
    let unsentRecords = 0;
    let unsentUnits = 0;
    let unansweredRecords = 0;
    let unansweredUnits = 0;
    for (const record of pending) {
      customers.add(customerOfKey(record.keyId));
      if (this.dispatcher.mayHaveLanded(record.id)) {
        unansweredRecords += 1;
        unansweredUnits += record.quantity;
      } else {
        unsentRecords += 1;
        unsentUnits += record.quantity;
      }
    }
    const unwrittenUnits = this.unwritten.units;
    for (const keyId of this.unwritten.keyIds()) customers.add(customerOfKey(keyId));
    for (const keyId of this.carriedKeys) customers.add(customerOfKey(keyId));
    // Units carried forward during the drain sit in an hour not closed yet, counted in the store's open units.
    const carriedUnits = Math.min(report.carriedUnits, stats.openUnits);
    const left: UsageLeftAtShutdown = {
      fate: o.store.scope === 'process' ? 'lost' : 'kept',
      openUnits: stats.openUnits - carriedUnits,
      carriedUnits,
      unsentRecords,
      unsentUnits,
      unansweredRecords,
      unansweredUnits,
      unwrittenUnits,
      customers: customers.size,
      store: `${o.store.name} store${o.store.location === undefined ? '' : ` at ${o.store.location}`}`,
    };
    return { left, records: pending };
  }

  /** One summary line at every shutdown; the event and a loud line when anything was left. */
  private reportLeft(report: FlushReport, left: UsageLeftAtShutdown, records: readonly UsageRecord[]): void {
    const o = this.options;
    o.logger.info(summaryLine({ records: report.accepted, units: report.acceptedUnits }, left));
    if (nothingLeft(left)) return;
    this.events.emit('usage.unsent-at-shutdown', {
      records,
      openUnits: left.openUnits,
      left,
      unanswered: records.filter((r) => this.dispatcher.mayHaveLanded(r.id)),
    });
    const context = {
      openUnits: left.openUnits,
      carriedUnits: left.carriedUnits,
      unsentRecords: left.unsentRecords,
      unsentUnits: left.unsentUnits,
      unansweredRecords: left.unansweredRecords,
      unansweredUnits: left.unansweredUnits,
      unwrittenUnits: left.unwrittenUnits,
      customers: left.customers,
      fate: left.fate,
    };
    // A durable store keeping its open hour is the normal case; only usage that is lost, or stuck, is an error.
    if (anythingLost(left)) o.logger.error(leftLine(left), context);
    else if (left.unsentRecords + left.unansweredRecords > 0) o.logger.warn(leftLine(left), context);
  }
}
