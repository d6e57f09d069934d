import { type DispatchCounts, Dispatcher, emptyCounts } from '../dispatch/dispatcher.js';
import { RepeatedLog, type RepeatSummary } from '../logging/repeated-log.js';
import { type CustomerRef, redact } from '../model/customer.js';
import { MeteringError } from '../model/errors.js';
import {
  MeteringEventEmitter,
  type MeteringEvents,
  type UsageRejectionReason,
  usageRejectionReasons,
} from '../model/events.js';
import { describeValue, messages } from '../model/messages.js';
import { keyFromId, type UsageRecord } from '../model/usage-key.js';
import type { UsageTags } from '../model/usage-tags.js';
import { CachedCustomerRegistry } from '../registry/cached-registry.js';
import type {
  CustomerRegistry,
  RegisteredCustomer,
  SubscriptionState,
} from '../registry/customer-registry.js';
import type { StoreStats } from '../store/usage-store.js';
import { type GateVerdict, SubscriptionGate } from '../tally/subscription-gate.js';
import { Tally } from '../tally/tally.js';
import { holdProcessOpen, sleep, type TimerHandle, yieldToEventLoop } from '../time/clock.js';
import { HOUR_MILLIS, hourStartOf } from '../time/hours.js';
import { ZeroUsageHeartbeats } from './heartbeats.js';
import {
  assertDimension,
  type MeteringOptions,
  parseOptions,
  type ResolvedMeteringOptions,
} from './options.js';
import {
  anythingLost,
  customerOfKey,
  leftLine,
  nothingLeft,
  summaryLine,
  type UsageLeftAtShutdown,
} from './shutdown-report.js';
import { UnwrittenDeltas } from './unwritten-deltas.js';

/** How far ahead of the engine's clock a record's `at` may be: the clocks of other machines drift. */
const MAX_FUTURE_SKEW_MILLIS = 5 * 60_000;
/** What a flush did, and what is left. Returned, never thrown. */
export interface FlushReport extends DispatchCounts {
  checkpointedUnits: number;
  sealedRecords: number;
  /** Records still in the outbox afterwards (waiting for a retry, or not yet due). */
  pending: number;
  timedOut: boolean;
  /** Set by `shutdown()` only: what the shutdown left unbilled, and where (all zero after a complete drain). */
  left?: UsageLeftAtShutdown;
}

export interface EngineStats extends StoreStats {
  liveKeys: number;
  /** Counted but not yet written to the store (merged by key and hour while the store fails). */
  unwrittenDeltas: number;
  /** `record()` calls that counted nothing since start, per reason (the `usage.rejected` events). */
  rejected: Record<UsageRejectionReason, number>;
  state: 'created' | 'running' | 'stopping' | 'stopped';
}

/** A serial lane: tasks on it run one at a time, in order. */
class Lane {
  private tail: Promise<unknown> = Promise.resolve();
  busy = false;
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

/**
 * Counts usage on the request path and bills it exactly once: per UTC hour, one immutable record per key, sent after
 * the hour closes and retried only as an identical resend. Create it with {@link createMeteringEngine}.
 */
export class MeteringEngine implements AsyncDisposable {
  readonly options: ResolvedMeteringOptions;
  readonly events: MeteringEventEmitter;
  private readonly tally: Tally;
  private readonly dispatcher: Dispatcher;
  private readonly checkpointLane = new Lane();
  private readonly flushLane = new Lane();
  private readonly unwritten = new UnwrittenDeltas();
  private readonly rejectedCounts = Object.fromEntries(usageRejectionReasons.map((r) => [r, 0])) as Record<
    UsageRejectionReason,
    number
  >;
  /** Refusals per reason and failures per operation: logged once, then summed up per `logSummaryMillis`. */
  private readonly repeatedLog: RepeatedLog;
  /** Failures per background operation since it last succeeded, for the recovery line. */
  private readonly failures = new Map<string, number>();
  private state: EngineStats['state'] = 'created';
  private timer: TimerHandle | undefined;
  private lastCloseBefore = Number.NEGATIVE_INFINITY;
  private lastDispatchAt = Number.NEGATIVE_INFINITY;
  private shutdownPromise: Promise<FlushReport> | undefined;
  /** Keys whose usage a shutdown's drain carried forward: their customers count in the shutdown report. */
  private readonly carriedKeys = new Set<string>();
  /** Subscription states learnt from AWS's events; empty (and free on the request path) until the first one. */
  private readonly gate: SubscriptionGate;
  private heartbeats: ZeroUsageHeartbeats | undefined;
  private stopFollowingRegistry: (() => void) | undefined;

  constructor(options: MeteringOptions) {
    this.options = parseOptions(options);
    const o = this.options;
    this.events = new MeteringEventEmitter(
      (error, event) =>
        this.repeatedLog.occur(`listener:${event}`, o.clock.now(), () =>
          o.logger.error(`a listener of '${event}' threw; ignored (repeats are summed up)`, {
            error: error instanceof Error ? error.message : String(error),
          }),
        ),
      (event, payload) => {
        // Every refusal is counted and logged (rate-limited per reason), whoever reports it: the tally or an adapter.
        if (event !== 'usage.rejected') return;
        try {
          this.noteRejection(payload as MeteringEvents['usage.rejected']);
        } catch {
          // A refusal must never throw into the request that caused it.
        }
      },
    );
    this.repeatedLog = new RepeatedLog(o.logSummaryMillis, (summary) => this.writeSummary(summary));
    this.tally = new Tally(o, this.events, hourStartOf(o.clock.now()), () => {
      void this.checkpoint().catch(() => undefined);
    });
    this.dispatcher = new Dispatcher(o, this.events);
    this.events.on('record.carried-forward', ({ record }) => {
      if (this.state === 'stopping') this.carriedKeys.add(record.keyId);
    });
    this.gate = new SubscriptionGate(o.productCode);
  }

  /**
   * Counts `quantity` (default 1) units of `dimension` for `customer`, in the current hour or the hour of `at`
   * (epoch ms). Synchronous and allocation-free for a repeated key; never throws. Returns false when nothing was counted
   * (the reason goes to the `usage.rejected` event).
   *
   * With `tags`, the usage is allocated to that tag set inside the key's record for the hour (a separate, slower path;
   * untagged calls never pay for it). Tags that break the service's rules are dropped (`usage.tags-dropped`) and the
   * usage is counted untagged.
   */
  record(
    customer: CustomerRef,
    dimension: string,
    quantity?: number,
    at?: number,
    tags?: UsageTags,
  ): boolean {
    if (at !== undefined && !(at <= this.options.clock.now() + MAX_FUTURE_SKEW_MILLIS)) {
      // Usage cannot happen in the future: such an `at` is a bug (seconds for milliseconds, a bad clock). Counting it
      // would hold it back until that hour closed, or bill it in an hour it did not happen.
      this.events.emit('usage.rejected', {
        reason: 'invalid-time',
        dimension,
        quantity,
        detail: `\`at\` must be a finite epoch-millisecond time no later than ${MAX_FUTURE_SKEW_MILLIS / 60_000} minutes ahead of the engine's clock`,
      });
      return false;
    }
    if (this.gate.size > 0 && customer != null) {
      const verdict = this.gate.verdict(customer);
      if (verdict !== 'count') return this.gated(verdict, customer, dimension, quantity, at, tags);
    }
    return this.tally.record(customer, dimension, quantity, at, tags);
  }

  /** False when the `reject` policy is full and this would be a new key: answer 503 rather than serve unbillable usage. */
  admits(customer: CustomerRef, dimension: string): boolean {
    return this.tally.admits(customer, dimension);
  }

  /**
   * Checks a dimension against the service's rules and the declared `dimensions`. Adapters call it at start-up for
   * every `@Meter()`/`meter()`; `where` names the place in the message (e.g. `BillingController.export`).
   * @throws {MeteringConfigurationError}
   */
  assertDimension(dimension: unknown, where: string): string {
    return assertDimension(where, dimension, this.options.dimensions);
  }

  /** Opens the store, says which store is in use, and (with `scheduling: 'internal'`) starts the timers. */
  async start(): Promise<void> {
    if (this.state !== 'created') return;
    const o = this.options;
    await o.store.open?.();
    if (o.registry !== undefined) await this.loadSubscriptionStates(o.registry);
    if (o.heartbeats && o.registry !== undefined && o.dimensions !== undefined) {
      this.heartbeats = new ZeroUsageHeartbeats(
        o.registry,
        o.dimensions,
        o.store,
        o.productCode,
        this.events,
        o.sliceSize,
        this.closeBefore(o.clock.now()),
      );
    }
    this.state = 'running';
    if (o.store.scope === 'process') {
      // A warning, not an info line: this is the one fact about the memory store that loses money on every deploy.
      o.logger.warn(
        `using the ${o.store.name} store: counts live in this process only. A RESTART WITHIN THE SAME UTC HOUR LOSES ` +
          "the later process's usage of that hour (AWS bills only the first record per customer, dimension and hour, " +
          'and this store sends its partial hour at shutdown); a crash loses unsent usage. Run ONE instance. To keep ' +
          "usage across restarts use @meterkit/sqlite (the adapters' default); for several replicas use @meterkit/redis.",
        { sink: o.sink.name },
      );
    } else if (o.store.scope === 'host') {
      o.logger.info(
        `using the ${o.store.name} store${o.store.location === undefined ? '' : ` at ${o.store.location}`}: usage not ` +
          'yet billed (the open hour included) is kept there across restarts. It must live on a disk that outlives ' +
          "this process and its container (a persistent volume, not the container's writable layer); replicas on " +
          'several hosts need @meterkit/redis.',
        { sink: o.sink.name },
      );
    } else {
      o.logger.info(
        `using the ${o.store.name} store (${o.store.scope}${o.store.location === undefined ? '' : `, ${o.store.location}`})`,
        { sink: o.sink.name },
      );
    }
    this.arm();
  }

  /**
   * Opens the registry and loads every customer's subscription state, so that after a restart an unsubscribed
   * customer's usage is still refused and an unconfirmed one's still held. A registry that fails here fails the start
   * (`ERR_METERING_REGISTRY_UNAVAILABLE`): serving without the states would bill usage AWS refuses or must not see.
   * With a {@link CachedCustomerRegistry}, the changes its reloads find (other replicas' writes) are applied too.
   */
  private async loadSubscriptionStates(registry: CustomerRegistry): Promise<void> {
    let entries: RegisteredCustomer[];
    try {
      await registry.open?.();
      entries = await registry.list();
    } catch (error) {
      throw new MeteringError(
        'ERR_METERING_REGISTRY_UNAVAILABLE',
        messages.registryUnavailable(registry.name, error),
        { cause: error },
      );
    }
    this.restoreSubscriptionStates(entries);
    if (registry instanceof CachedCustomerRegistry) {
      this.stopFollowingRegistry = registry.onReload((changed) => {
        for (const entry of changed) {
          this.applySubscriptionChange(entry.customer, entry.state, 'registry').catch((error) =>
            this.reportError('subscription', error),
          );
        }
      });
    }
  }

  /**
   * One round of background work: roll the hour, checkpoint, and seal and send when due. The internal timer calls it;
   * with `scheduling: 'external'` your scheduler does. Never rejects: failures go to the `engine.error` event.
   */
  async tick(): Promise<void> {
    if (this.state !== 'running') return;
    try {
      await this.tickOnce();
    } catch (error) {
      this.reportError('tick', error);
    }
  }

  private async tickOnce(): Promise<void> {
    const o = this.options;
    const now = o.clock.now();
    this.repeatedLog.flush(now);
    this.tally.rollTo(hourStartOf(now));
    if (this.gate.heldEntries > 0)
      this.releaseHeld(this.gate.takeHeldBefore(hourStartOf(now)), 'not-subscribed');
    const work: Promise<unknown>[] = [];
    if (!this.checkpointLane.busy) {
      work.push(
        this.checkpoint().then(
          () => this.recovered('checkpoint'),
          (error) => this.reportError('checkpoint', error),
        ),
      );
    }
    const sealDue = this.closeBefore(now) > this.lastCloseBefore;
    if (!this.flushLane.busy && (sealDue || now - this.lastDispatchAt >= o.dispatchIntervalMillis)) {
      work.push(
        this.flushLane
          .run(async () => {
            await this.checkpoint();
            await this.sealClosed(false);
            await this.dispatchDue(Number.POSITIVE_INFINITY, emptyCounts(), true);
          })
          .then(
            () => this.recovered('flush'),
            (error) => this.reportError('flush', error),
          ),
      );
    }
    await Promise.all(work);
  }

  /**
   * Moves counts from the request path into the store. Counts the store refused stay queued for the next try, merged
   * by key and hour; once `maxLiveKeys` of them are queued, counts stay in the tally (where a repeated key costs no
   * memory) until the store takes the backlog.
   */
  checkpoint(): Promise<number> {
    return this.checkpointLane.run(async () => {
      const progress = { units: 0, written: 0 };
      let writeFailed = false;
      const backlogFull = this.unwritten.size >= this.options.maxLiveKeys;
      if (!backlogFull)
        await this.drainTally(
          progress,
          () => writeFailed,
          () => {
            writeFailed = true;
          },
        );
      await this.writeUnwritten(progress);
      if (progress.written > 0) {
        this.events.emit('usage.checkpointed', { deltas: progress.written, units: progress.units });
      }
      return progress.units;
    });
  }

  private async drainTally(
    progress: { units: number; written: number },
    writeFailed: () => boolean,
    markFailed: () => void,
  ): Promise<void> {
    await this.tally.drain(
      this.options.sliceSize,
      (deltas) => this.unwritten.push(deltas),
      async () => {
        // Write each slice as soon as it is drained: a million deltas queued until the whole drain ends would all
        // outlive young-generation collections, and each collection would copy them. After a failure the rest stays
        // queued, and the write after the drain reports it.
        if (!writeFailed()) {
          try {
            await this.writeUnwritten(progress);
          } catch {
            markFailed();
          }
        }
        await yieldToEventLoop();
      },
    );
  }

  /** Counted deltas not yet written to the store. */
  private get unwrittenCount(): number {
    return this.unwritten.size;
  }

  /**
   * Writes the queued deltas to the store, oldest first, yielding between slices. When the store refuses, the queue
   * switches to merging by key and hour (so an outage holds one entry per key and hour) and the error is rethrown.
   */
  private async writeUnwritten(progress: { units: number; written: number }): Promise<void> {
    const o = this.options;
    for (;;) {
      const deltas = this.unwritten.next(o.sliceSize);
      if (deltas === undefined) break;
      try {
        await o.store.addDeltas(deltas);
      } catch (error) {
        this.unwritten.storeFailed();
        throw error;
      }
      this.unwritten.written(deltas);
      progress.written += deltas.length;
      let late = 0;
      for (const delta of deltas) {
        progress.units += delta.quantity;
        if (delta.hourStart < this.lastCloseBefore) late += delta.quantity;
      }
      if (late > 0) {
        this.events.emit('usage.late', {
          fromHour: deltas[0]?.hourStart ?? 0,
          toHour: this.lastCloseBefore,
          units: late,
        });
      }
      // A store that answers at once (memory) would otherwise write every slice without letting requests run.
      if (this.unwritten.size > 0) await yieldToEventLoop();
    }
  }

  /**
   * Checkpoints, seals every closed hour and sends what is due, until nothing is due or `timeoutMillis` passes.
   * Records waiting for a retry stay queued (`pending` in the report).
   */
  forceFlush(options: { timeoutMillis?: number } = {}): Promise<FlushReport> {
    if (this.state === 'stopped')
      return Promise.reject(new MeteringError('ERR_METERING_SHUT_DOWN', messages.shutDown()));
    const deadline = this.options.clock.now() + (options.timeoutMillis ?? this.options.shutdownTimeoutMillis);
    // Every engine timer is unref'd; without this hold, a process whose server has closed would exit mid-flush.
    const release = holdProcessOpen();
    return this.flushLane.run(() => this.flushUntil(deadline, false, false)).finally(release);
  }

  /**
   * Stops counting, checkpoints, and sends what it can within `timeoutMillis`. With a store that outlives the process,
   * the open hour stays in it for the next instance. With the memory store, the open hour is sealed and sent now;
   * whatever cannot be sent is reported in `usage.unsent-at-shutdown` (and logged), never dropped silently.
   * Idempotent: a second call returns the first call's report.
   */
  shutdown(options: { timeoutMillis?: number } = {}): Promise<FlushReport> {
    if (this.shutdownPromise !== undefined) return this.shutdownPromise;
    // Held from the first line to the last: every engine timer (retry sleeps, the rate limiter's wait, the call
    // timeout) is unref'd, and a process whose server has closed would otherwise exit in the middle of the drain.
    const release = holdProcessOpen();
    this.shutdownPromise = this.runShutdown(options.timeoutMillis).finally(release);
    return this.shutdownPromise;
  }

  private async runShutdown(timeoutMillis: number | undefined): Promise<FlushReport> {
    const o = this.options;
    this.state = 'stopping';
    this.stopFollowingRegistry?.();
    if (this.timer !== undefined) o.timers.clearTimeout(this.timer);
    this.tally.stop();
    const deadline = o.clock.now() + (timeoutMillis ?? o.shutdownTimeoutMillis);
    const keepsOpenHours = o.store.scope !== 'process';
    // A store that outlives the process keeps what is not sent yet (and, when shared, another replica may be the one
    // sending it), so only the memory store waits for retries until the deadline.
    // A background pass may hold the flush lane with a call in flight: cut what is still in flight at the deadline.
    const cutTimer = o.timers.setTimeout(
      () => this.dispatcher.cutInFlight(),
      Math.max(0, deadline - o.clock.now()),
    );
    let report: FlushReport;
    try {
      report = await this.flushLane.run(() => this.flushUntil(deadline, !keepsOpenHours, !keepsOpenHours));
    } catch (error) {
      // The store failed mid-drain: still report what can be read, then close.
      this.events.emit('engine.error', { operation: 'shutdown', error });
      o.logger.error('shutdown: the final drain failed', { error: errorText(error) });
      report = { ...emptyCounts(), checkpointedUnits: 0, sealedRecords: 0, pending: 0, timedOut: false };
    } finally {
      o.timers.clearTimeout(cutTimer);
    }
    const found = await this.usageLeft(report).catch((error: unknown) => {
      this.events.emit('engine.error', { operation: 'shutdown report', error });
      o.logger.error(
        'shutdown: the store could not be read to count what is left unbilled; whatever it holds stays in it, and ' +
          'counts it never accepted are lost with this process',
        { error: errorText(error), unwrittenDeltas: this.unwrittenCount },
      );
      return undefined;
    });
    if (found !== undefined) {
      report = { ...report, left: found.left };
      this.reportLeft(report, found.left, found.records);
    }
    await o.sink.shutdown?.();
    await o.store.close();
    this.state = 'stopped';
    return report;
  }

  /** What the drain left unbilled, by kind. Reads the store, so it runs before the store is closed. */
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

  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown();
  }

  /**
   * The subscription state the engine last learnt for `customer` (from {@link applySubscriptionChange}), or undefined
   * when it never heard of the customer. Synchronous: adapters ask it on the request path to apply their policy.
   */
  subscriptionStateOf(customer: CustomerRef): SubscriptionState | undefined {
    return this.gate.size === 0 ? undefined : this.gate.stateOf(customer);
  }

  /**
   * Loads states from a registry at start-up, without the effects of a change (no seal, nothing released). Customers
   * still `registered` have their usage held from now on.
   */
  restoreSubscriptionStates(customers: Iterable<Pick<RegisteredCustomer, 'customer' | 'state'>>): void {
    for (const entry of customers) this.gate.set(entry.customer, entry.state);
  }

  /**
   * Applies what AWS said about a customer's subscription. Usage of a customer it has never heard of is counted as
   * before; once it knows the customer:
   * - `registered` (no `subscribe-success` yet): usage is held in memory, not counted;
   * - `subscribed`: held usage of the current UTC hour is counted (billed with that hour); held usage of earlier hours
   *   is not billed (`usage.not-billed`, reason `not-subscribed`): AWS does not meter records from before the
   *   subscription. The same happens to held usage when its hour ends before `subscribe-success`.
   * - `unsubscribe-pending`: the open hour is sealed and sent at once (see {@link sealOpenHourNow}), within AWS's
   *   window for final records; usage is still counted.
   * - `unsubscribed`: new usage is refused (`usage.rejected`, reason `unsubscribed`).
   * - `subscribe-failed`: held usage is not billed (`usage.not-billed`, reason `subscribe-failed`); new usage is
   *   refused (`usage.rejected`, reason `not-subscribed`).
   * Idempotent: a redelivered event changes nothing.
   */
  async applySubscriptionChange(
    customer: CustomerRef,
    state: SubscriptionState,
    source = 'event',
  ): Promise<void> {
    const from = this.gate.set(customer, state);
    if (from === state) return;
    this.events.emit('subscription.changed', {
      customer: redact(customer.licenseArn ?? customer.customerIdentifier),
      from,
      to: state,
      source,
    });
    if (state === 'subscribed') {
      const currentHour = hourStartOf(this.options.clock.now());
      const held = this.gate.takeHeld(customer);
      for (const entry of held) {
        if (entry.hourStart >= currentHour)
          this.tally.record(entry.customer, entry.dimension, entry.quantity, entry.hourStart, entry.tags);
      }
      this.releaseHeld(
        held.filter((entry) => entry.hourStart < currentHour),
        'not-subscribed',
      );
    } else if (state === 'subscribe-failed') {
      this.releaseHeld(this.gate.takeHeld(customer), 'subscribe-failed');
    } else if (state === 'unsubscribe-pending' && this.state === 'running') {
      await this.sealOpenHourNow();
    }
  }

  /**
   * Checkpoints, seals the open hour now (every key: stores seal by hour) and sends it, without waiting for the hour
   * to end. Used on `unsubscribe-pending`, when AWS gives about one hour for the final records. Usage that arrives
   * later in the same hour, for any customer, is billed with the next hour (`usage.late`): a second record for a
   * sealed key and hour would be refused as `DuplicateRecord`, so none is ever made.
   */
  sealOpenHourNow(options: { timeoutMillis?: number } = {}): Promise<FlushReport> {
    if (this.state === 'stopped')
      return Promise.reject(new MeteringError('ERR_METERING_SHUT_DOWN', messages.shutDown()));
    const deadline = this.options.clock.now() + (options.timeoutMillis ?? this.options.shutdownTimeoutMillis);
    return this.flushLane.run(() => this.flushUntil(deadline, true, false));
  }

  /** The request path for a customer the gate does not simply count. */
  private gated(
    verdict: Exclude<GateVerdict, 'count'>,
    customer: CustomerRef,
    dimension: string,
    quantity: number | undefined,
    at: number | undefined,
    tags: UsageTags | undefined,
  ): boolean {
    if (verdict === 'hold') {
      const units = quantity ?? 1;
      if (!(Number.isSafeInteger(units) && units >= 0))
        return this.tally.record(customer, dimension, quantity, at, tags);
      const hourStart = hourStartOf(at ?? this.options.clock.now());
      if (this.gate.hold(customer, dimension, hourStart, units, tags)) {
        this.events.emit('usage.held', {
          customer: redact(customer.licenseArn ?? customer.customerIdentifier),
          dimension,
          hourStart,
        });
      }
      return true;
    }
    this.events.emit('usage.rejected', {
      reason: verdict,
      dimension,
      quantity,
      detail:
        verdict === 'unsubscribed'
          ? 'AWS said unsubscribe-success: it accepts no further records for this customer'
          : 'the subscription failed (subscribe-fail): AWS bills nothing for this customer',
    });
    return false;
  }

  private releaseHeld(
    entries: readonly { customer: CustomerRef; dimension: string; hourStart: number; quantity: number }[],
    reason: 'not-subscribed' | 'subscribe-failed',
  ): void {
    for (const entry of entries) {
      // Never dropped silently: the event carries it, and the log says so.
      this.options.logger.warn('usage held for an unconfirmed subscription is not billed', {
        customer: redact(entry.customer.licenseArn ?? entry.customer.customerIdentifier),
        dimension: entry.dimension,
        units: entry.quantity,
        reason,
      });
      this.events.emit('usage.not-billed', {
        customer: redact(entry.customer.licenseArn ?? entry.customer.customerIdentifier),
        dimension: entry.dimension,
        hourStart: entry.hourStart,
        units: entry.quantity,
        reason,
      });
    }
  }

  async stats(): Promise<EngineStats> {
    const store = await this.options.store.stats();
    return {
      ...store,
      liveKeys: this.tally.liveKeys,
      unwrittenDeltas: this.unwrittenCount,
      rejected: { ...this.rejectedCounts },
      state: this.state,
    };
  }

  /** Hours starting before this instant are closed at `now`. */
  private closeBefore(now: number): number {
    return hourStartOf(now - this.options.sealDelayMillis);
  }

  private async flushUntil(
    deadline: number,
    sealOpenHour: boolean,
    waitForRetries: boolean,
  ): Promise<FlushReport> {
    const o = this.options;
    const counts = emptyCounts();
    const checkpointedUnits = await this.checkpoint();
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
    if (closeBefore > this.lastCloseBefore) this.lastCloseBefore = closeBefore;
    if (sealed > 0) this.events.emit('records.sealed', { records: sealed, units });
    return sealed;
  }

  /**
   * One slice of sealing, counted. A function of its own so the slice's records are unreachable once counted: held
   * across the yield that follows, every collection in that turn would copy them.
   */
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
      this.reportError('heartbeats', error);
    }
  }

  /**
   * Sends due records until none is due or `deadline` passes. A background pass (`background`) also stops as soon as a
   * shutdown begins: the shutdown's own drain, bounded by its deadline, takes over.
   */
  private async dispatchDue(deadline: number, counts: DispatchCounts, background = false): Promise<void> {
    const o = this.options;
    this.lastDispatchAt = o.clock.now();
    while (o.clock.now() < deadline && !(background && this.state !== 'running')) {
      const claimed = await this.dispatcher.pass(counts, deadline);
      if (claimed === 0) break;
      // With a fast sink and an idle rate limit, passes chain as microtasks: let requests in between them.
      await yieldToEventLoop();
    }
  }

  /** Arms the next tick: every `checkpointMillis`, and exactly at the hour boundary so usage lands in the right hour. */
  private arm(): void {
    const o = this.options;
    if (this.state !== 'running') return;
    const now = o.clock.now();
    const toBoundary = hourStartOf(now) + HOUR_MILLIS - now;
    const delay = o.scheduling === 'internal' ? Math.min(o.checkpointMillis, toBoundary) : toBoundary;
    this.timer = o.timers.setTimeout(() => {
      // A slow call must not hold back checkpoints: tick in the background and re-arm at once.
      // tick() never rejects; the catch is a last guard so nothing reaches the host as an unhandled rejection.
      if (o.scheduling === 'internal') void this.tick().catch(() => undefined);
      else this.tally.rollTo(hourStartOf(o.clock.now()));
      this.arm();
    }, delay);
  }

  /**
   * A background failure: an event every time, a log line the first time, then one summary per `logSummaryMillis`
   * (a store that is down fails every checkpoint). Never throws: it runs inside the catch of a background task.
   */
  private reportError(operation: string, error: unknown): void {
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
  private recovered(operation: string): void {
    const failures = this.failures.get(operation);
    if (failures === undefined) return;
    this.failures.delete(operation);
    this.repeatedLog.end(`error:${operation}`);
    this.options.logger.info(`${operation} recovered after ${failures} failed attempt(s)`, {
      unwrittenDeltas: this.unwritten.size,
    });
  }

  private noteRejection(rejection: MeteringEvents['usage.rejected']): void {
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

  private reportOverflow(keyId: string, fromHour: number, units: number): void {
    const key = keyFromId(keyId);
    const toHour = fromHour + HOUR_MILLIS;
    this.events.emit('usage.overflow-carried', { key, fromHour, toHour, units });
    const o = this.options;
    this.repeatedLog.occur('overflow:carried', o.clock.now(), () =>
      o.logger.warn(
        `a key's usage in one hour passed the per-record maximum (2,147,483,647); ${units} units are billed in the next hour`,
        { dimension: key.dimension, customer: redact(key.licenseArn ?? key.customerIdentifier) },
      ),
    );
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Creates a metering engine. Validates every option now (throwing a typed error that names the field), so a
 * misconfiguration fails at start-up, not on the first request.
 */
export function createMeteringEngine(options: MeteringOptions): MeteringEngine {
  return new MeteringEngine(options);
}
