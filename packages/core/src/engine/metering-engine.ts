/** The metering engine: the request path's entry, and the orchestration of checkpoint, flush and shutdown. */
import { Dispatcher } from '../dispatch/dispatcher.js';
import type { CustomerRef } from '../model/customer.js';
import { MeteringError } from '../model/errors.js';
import { MeteringEventEmitter, type MeteringEvents } from '../model/events.js';
import { messages } from '../model/messages.js';
import type { UsageTags } from '../model/usage-tags.js';
import type { RegisteredCustomer, SubscriptionState } from '../registry/customer-registry.js';
import { SubscriptionGate } from '../tally/subscription-gate.js';
import { Tally } from '../tally/tally.js';
import { holdProcessOpen, type TimerHandle } from '../time/clock.js';
import { HOUR_MILLIS, hourStartOf } from '../time/hours.js';
import { BackgroundLog } from './background-log.js';
import { Checkpointer } from './checkpoint.js';
import { Flusher, SealedHours } from './flush.js';
import type { EngineStats, FlushReport } from './flush-report.js';
import { ZeroUsageHeartbeats } from './heartbeats.js';
import {
  assertDimension,
  type MeteringOptions,
  parseOptions,
  type ResolvedMeteringOptions,
} from './options.js';
import { ShutdownDrain } from './shutdown.js';
import { announceStore } from './store-notice.js';
import { Subscriptions } from './subscriptions.js';
import { UnwrittenDeltas } from './unwritten-deltas.js';

/** How far ahead of the engine's clock a record's `at` may be: the clocks of other machines drift. */
const MAX_FUTURE_SKEW_MILLIS = 5 * 60_000;

/**
 * Counts usage on the request path and bills it exactly once: per UTC hour, one immutable record per key, sent after
 * the hour closes and retried only as an identical resend. Create it with {@link createMeteringEngine}.
 *
 * The pipeline: {@link record} counts into the tally; a checkpoint ({@link Checkpointer}) moves counts into the store;
 * a flush ({@link Flusher}) seals closed hours and sends them; a shutdown ({@link ShutdownDrain}) drains and reports
 * what is left. Subscription states gate the request path ({@link Subscriptions}); background failures and refusals
 * are logged once, then summed up ({@link BackgroundLog}).
 */
export class MeteringEngine implements AsyncDisposable {
  readonly options: ResolvedMeteringOptions;
  readonly events: MeteringEventEmitter;
  private readonly tally: Tally;
  /** Subscription states learnt from AWS's events; empty (and free on the request path) until the first one. */
  private readonly gate: SubscriptionGate;
  private readonly unwritten = new UnwrittenDeltas();
  private readonly log: BackgroundLog;
  private readonly dispatcher: Dispatcher;
  private readonly checkpointer: Checkpointer;
  private readonly flusher: Flusher;
  private readonly shutdownDrain: ShutdownDrain;
  private readonly subscriptions: Subscriptions;
  private state: EngineStats['state'] = 'created';
  private timer: TimerHandle | undefined;
  private shutdownPromise: Promise<FlushReport> | undefined;

  constructor(options: MeteringOptions) {
    this.options = parseOptions(options);
    const o = this.options;
    this.events = new MeteringEventEmitter(
      (error, event) => this.log.listenerThrew(error, event),
      (event, payload) => {
        // Every refusal is counted and logged (rate-limited per reason), whoever reports it: the tally or an adapter.
        if (event !== 'usage.rejected') return;
        try {
          this.log.noteRejection(payload as MeteringEvents['usage.rejected']);
        } catch {
          // A refusal must never throw into the request that caused it.
        }
      },
    );
    this.log = new BackgroundLog(o, this.events, this.unwritten);
    this.tally = new Tally(o, this.events, hourStartOf(o.clock.now()), () => {
      void this.checkpoint().catch(() => undefined);
    });
    this.dispatcher = new Dispatcher(o, this.events);
    const sealed = new SealedHours();
    this.checkpointer = new Checkpointer(o, this.events, this.tally, this.unwritten, sealed);
    this.flusher = new Flusher(
      o,
      this.events,
      this.dispatcher,
      this.checkpointer,
      sealed,
      this.log,
      () => this.state === 'running',
    );
    this.shutdownDrain = new ShutdownDrain(o, this.events, this.dispatcher, this.flusher, this.unwritten);
    this.events.on('record.carried-forward', ({ record }) => {
      if (this.state === 'stopping') this.shutdownDrain.noteCarried(record.keyId);
    });
    this.gate = new SubscriptionGate(o.productCode);
    this.subscriptions = new Subscriptions(o, this.events, this.gate, this.tally, this.log, async () => {
      if (this.state === 'running') await this.sealOpenHourNow();
    });
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
      if (verdict !== 'count')
        return this.subscriptions.recordGated(verdict, customer, dimension, quantity, at, tags);
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
    if (o.registry !== undefined) await this.subscriptions.load(o.registry);
    if (o.heartbeats && o.registry !== undefined && o.dimensions !== undefined) {
      this.flusher.attachHeartbeats(
        new ZeroUsageHeartbeats(
          o.registry,
          o.dimensions,
          o.store,
          o.productCode,
          this.events,
          o.sliceSize,
          this.flusher.closeBefore(o.clock.now()),
        ),
      );
    }
    this.state = 'running';
    announceStore(o);
    this.arm();
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
      this.log.reportError('tick', error);
    }
  }

  private async tickOnce(): Promise<void> {
    const now = this.options.clock.now();
    this.log.flush(now);
    this.tally.rollTo(hourStartOf(now));
    this.subscriptions.releaseHeldBefore(hourStartOf(now));
    const work: Promise<unknown>[] = [];
    if (!this.checkpointer.busy) {
      work.push(
        this.checkpoint().then(
          () => this.log.recovered('checkpoint'),
          (error) => this.log.reportError('checkpoint', error),
        ),
      );
    }
    if (this.flusher.dueInBackground(now)) {
      work.push(
        this.flusher.background().then(
          () => this.log.recovered('flush'),
          (error) => this.log.reportError('flush', error),
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
    return this.checkpointer.run();
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
    return this.flusher.run(deadline, false, false).finally(release);
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
    this.subscriptions.stopFollowing();
    if (this.timer !== undefined) o.timers.clearTimeout(this.timer);
    this.tally.stop();
    const deadline = o.clock.now() + (timeoutMillis ?? o.shutdownTimeoutMillis);
    const drained = await this.shutdownDrain.drain(deadline);
    const report = await this.shutdownDrain.withUsageLeft(drained);
    await o.sink.shutdown?.();
    await o.store.close();
    this.state = 'stopped';
    return report;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown();
  }

  /**
   * The subscription state the engine last learnt for `customer` (from {@link applySubscriptionChange}), or undefined
   * when it never heard of the customer. Synchronous: adapters ask it on the request path to apply their policy.
   */
  subscriptionStateOf(customer: CustomerRef): SubscriptionState | undefined {
    return this.subscriptions.stateOf(customer);
  }

  /**
   * Loads states from a registry at start-up, without the effects of a change (no seal, nothing released). Customers
   * still `registered` have their usage held from now on.
   */
  restoreSubscriptionStates(customers: Iterable<Pick<RegisteredCustomer, 'customer' | 'state'>>): void {
    this.subscriptions.restore(customers);
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
  applySubscriptionChange(customer: CustomerRef, state: SubscriptionState, source = 'event'): Promise<void> {
    return this.subscriptions.apply(customer, state, source);
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
    return this.flusher.run(deadline, true, false);
  }

  async stats(): Promise<EngineStats> {
    const store = await this.options.store.stats();
    return {
      ...store,
      liveKeys: this.tally.liveKeys,
      unwrittenDeltas: this.unwritten.size,
      rejected: this.log.rejected,
      state: this.state,
    };
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
}

/**
 * Creates a metering engine. Validates every option now (throwing a typed error that names the field), so a
 * misconfiguration fails at start-up, not on the first request.
 */
export function createMeteringEngine(options: MeteringOptions): MeteringEngine {
  return new MeteringEngine(options);
}
