import { CachedCustomerRegistry } from './cached-registry.js';
import { sleep, type TimerHandle, yieldToEventLoop } from './clock.js';
import { type CustomerRef, redact } from './customer.js';
import type { CustomerRegistry, RegisteredCustomer, SubscriptionState } from './customer-registry.js';
import { type DispatchCounts, Dispatcher, emptyCounts } from './dispatcher.js';
import { MeteringError } from './errors.js';
import { MeteringEventEmitter } from './events.js';
import { ZeroUsageHeartbeats } from './heartbeats.js';
import { HOUR_MILLIS, hourStartOf } from './hours.js';
import { messages } from './messages.js';
import {
  assertDimension,
  type MeteringOptions,
  parseOptions,
  type ResolvedMeteringOptions,
} from './options.js';
import type { StoreStats, UsageDelta } from './store.js';
import { type GateVerdict, SubscriptionGate } from './subscription-gate.js';
import { Tally } from './tally.js';
import type { UsageTags } from './usage-tags.js';

/** How far ahead of the engine's clock a record's `at` may be: the clocks of other machines drift. */
const MAX_FUTURE_SKEW_MILLIS = 5 * 60_000;
/** What a flush did, and what is left. Returned, never thrown. */
export interface FlushReport extends DispatchCounts {
  checkpointedUnits: number;
  sealedRecords: number;
  /** Records still in the outbox afterwards (waiting for a retry, or not yet due). */
  pending: number;
  timedOut: boolean;
}

export interface EngineStats extends StoreStats {
  liveKeys: number;
  /** Counted but not yet written to the store. */
  unwrittenDeltas: number;
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
  private unwritten: UsageDelta[][] = [];
  private unwrittenCount = 0;
  private state: EngineStats['state'] = 'created';
  private timer: TimerHandle | undefined;
  private lastCloseBefore = Number.NEGATIVE_INFINITY;
  private lastDispatchAt = Number.NEGATIVE_INFINITY;
  private shutdownPromise: Promise<FlushReport> | undefined;
  /** Subscription states learnt from AWS's events; empty (and free on the request path) until the first one. */
  private readonly gate: SubscriptionGate;
  private heartbeats: ZeroUsageHeartbeats | undefined;
  private stopFollowingRegistry: (() => void) | undefined;

  constructor(options: MeteringOptions) {
    this.options = parseOptions(options);
    const o = this.options;
    this.events = new MeteringEventEmitter((error, event) =>
      o.logger.error(`a listener of '${event}' threw; ignored`, { error: String(error) }),
    );
    this.tally = new Tally(o, this.events, hourStartOf(o.clock.now()), () => {
      void this.checkpoint().catch(() => undefined);
    });
    this.dispatcher = new Dispatcher(o, this.events);
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
      o.logger.info(
        `using the ${o.store.name} store: counts live in this process only. Run ONE instance; a crash loses unsent usage. ` +
          'For several replicas use @meterkit/redis; to survive restarts use @meterkit/sqlite.',
        { sink: o.sink.name },
      );
    } else {
      o.logger.info(`using the ${o.store.name} store (${o.store.scope})`, { sink: o.sink.name });
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
    const o = this.options;
    const now = o.clock.now();
    this.tally.rollTo(hourStartOf(now));
    if (this.gate.heldEntries > 0)
      this.releaseHeld(this.gate.takeHeldBefore(hourStartOf(now)), 'not-subscribed');
    const work: Promise<unknown>[] = [];
    if (!this.checkpointLane.busy) {
      work.push(this.checkpoint().catch((error) => this.reportError('checkpoint', error)));
    }
    const sealDue = this.closeBefore(now) > this.lastCloseBefore;
    if (!this.flushLane.busy && (sealDue || now - this.lastDispatchAt >= o.dispatchIntervalMillis)) {
      work.push(
        this.flushLane
          .run(async () => {
            await this.checkpoint();
            await this.sealClosed(false);
            await this.dispatchDue(Number.POSITIVE_INFINITY, emptyCounts());
          })
          .catch((error) => this.reportError('flush', error)),
      );
    }
    await Promise.all(work);
  }

  /** Moves counts from the request path into the store. Counts the store refused stay queued for the next try. */
  checkpoint(): Promise<number> {
    return this.checkpointLane.run(async () => {
      const progress = { units: 0, written: 0 };
      let writeFailed = false;
      await this.tally.drain(
        this.options.sliceSize,
        (deltas) => {
          this.unwritten.push(deltas);
          this.unwrittenCount += deltas.length;
        },
        async () => {
          // Write each slice as soon as it is drained: a million deltas queued until the whole drain ends would all
          // outlive young-generation collections, and each collection would copy them. After a failure the rest stays
          // queued, and the write after the drain reports it.
          if (!writeFailed) {
            try {
              await this.writeUnwritten(progress);
            } catch {
              writeFailed = true;
            }
          }
          await yieldToEventLoop();
        },
      );
      await this.writeUnwritten(progress);
      if (progress.written > 0) {
        this.events.emit('usage.checkpointed', { deltas: progress.written, units: progress.units });
      }
      return progress.units;
    });
  }

  /** Writes the queued slices to the store, oldest first, yielding between slices. */
  private async writeUnwritten(progress: { units: number; written: number }): Promise<void> {
    const o = this.options;
    while (this.unwritten.length > 0) {
      const deltas = this.unwritten[0] as UsageDelta[];
      await o.store.addDeltas(deltas);
      this.unwritten.shift();
      this.unwrittenCount -= deltas.length;
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
      if (this.unwritten.length > 0) await yieldToEventLoop();
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
    return this.flushLane.run(() => this.flushUntil(deadline, false, false));
  }

  /**
   * Stops counting, checkpoints, and sends what it can within `timeoutMillis`. With a store that outlives the process,
   * the open hour stays in it for the next instance. With the memory store, the open hour is sealed and sent now;
   * whatever cannot be sent is reported in `usage.unsent-at-shutdown` (and logged), never dropped silently.
   * Idempotent: a second call returns the first call's report.
   */
  shutdown(options: { timeoutMillis?: number } = {}): Promise<FlushReport> {
    if (this.shutdownPromise !== undefined) return this.shutdownPromise;
    const o = this.options;
    // Every engine timer is unref'ed, so while shutdown waits on a retry's backoff nothing else may hold the event loop:
    // Node would exit mid-flush and lose the usage without a word. A real (not injected) ref'ed timer holds it.
    const holdProcess = setInterval(() => undefined, 60_000);
    this.shutdownPromise = (async () => {
      this.state = 'stopping';
      this.stopFollowingRegistry?.();
      if (this.timer !== undefined) o.timers.clearTimeout(this.timer);
      this.tally.stop();
      const deadline = o.clock.now() + (options.timeoutMillis ?? o.shutdownTimeoutMillis);
      const keepsOpenHours = o.store.scope !== 'process';
      // A store that outlives the process keeps what is not sent yet (and, when shared, another replica may be the one
      // sending it), so only the memory store waits for retries until the deadline.
      const report = await this.flushLane.run(() =>
        this.flushUntil(deadline, !keepsOpenHours, !keepsOpenHours),
      );
      if (!keepsOpenHours) {
        const unsent = await o.store.pending(Number.MAX_SAFE_INTEGER);
        const stats = await o.store.stats();
        if (unsent.length > 0 || stats.openUnits > 0 || this.unwrittenCount > 0) {
          this.events.emit('usage.unsent-at-shutdown', { records: unsent, openUnits: stats.openUnits });
          o.logger.error('shutdown: usage could not be sent in time and is lost with this process', {
            records: unsent.length,
            units: unsent.reduce((sum, r) => sum + r.quantity, 0),
          });
        }
      }
      await o.sink.shutdown?.();
      await o.store.close();
      this.state = 'stopped';
      return report;
    })().finally(() => clearInterval(holdProcess));
    return this.shutdownPromise;
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
    let units = 0;
    for (const record of result.sealed) units += record.quantity;
    if (result.rolledUpTagSets !== undefined && result.rolledUpTagSets > 0)
      this.events.emit('allocations.rolled-up', { tagSets: result.rolledUpTagSets });
    return { records: result.sealed.length, units, more: result.more };
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

  private async dispatchDue(deadline: number, counts: DispatchCounts): Promise<void> {
    const o = this.options;
    this.lastDispatchAt = o.clock.now();
    while (o.clock.now() < deadline) {
      const claimed = await this.dispatcher.pass(counts);
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
      if (o.scheduling === 'internal') void this.tick();
      else this.tally.rollTo(hourStartOf(o.clock.now()));
      this.arm();
    }, delay);
  }

  private reportError(operation: string, error: unknown): void {
    this.events.emit('engine.error', { operation, error });
    this.options.logger.error(`${operation} failed; it is retried on the next tick`, {
      error: error instanceof Error ? error.message : String(error),
    });
  }
}

/**
 * Creates a metering engine. Validates every option now (throwing a typed error that names the field), so a
 * misconfiguration fails at start-up, not on the first request.
 */
export function createMeteringEngine(options: MeteringOptions): MeteringEngine {
  return new MeteringEngine(options);
}
