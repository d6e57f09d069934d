/** The events the engine emits, their payloads, and the emitter that keeps a throwing listener off the engine. */
import type { UsageLeftAtShutdown } from '../engine/shutdown-report.js';
import type { DeadLetterReason } from '../store/usage-store.js';
import type { UsageKey, UsageRecord } from './usage-key.js';

/** Every reason a `record()` call may count nothing; `stats().rejected` has a counter for each. */
export const usageRejectionReasons = [
  'invalid-quantity',
  'invalid-time',
  'missing-customer',
  'invalid-customer',
  'invalid-dimension',
  'undeclared-dimension',
  'max-live-keys',
  'shut-down',
  /** The customer's subscription failed (`subscribe-fail`): AWS bills nothing for it. */
  'not-subscribed',
  /** AWS said `unsubscribe-success`: it accepts no further records for this customer. */
  'unsubscribed',
] as const;

/** Why a `record()` call counted nothing. */
export type UsageRejectionReason = (typeof usageRejectionReasons)[number];

/** How one call to the sink ended (see the `export.completed` event). */
export type ExportCallOutcome =
  | 'answered'
  | 'rejected'
  | 'throttled'
  | 'server-error'
  | 'network'
  | 'timeout'
  | 'failed';

/** Every outcome the engine reports, keyed by event name. Adapters, logs and metrics all hang off these. */
export interface MeteringEvents {
  /** A `record()` call that counted nothing (the request path never throws). */
  'usage.rejected': { reason: UsageRejectionReason; dimension: unknown; quantity: unknown; detail: string };
  /**
   * Tags that cannot go on an allocation (`detail` says which rule). The usage was counted all the same, untagged:
   * billed, only not allocated to the tag set.
   */
  'usage.tags-dropped': { dimension: string; quantity: number; detail: string };
  /**
   * Sealed records had more tag sets than one record may allocate (2,500 allocations, 5 distinct keys, 900 kB):
   * `tagSets` of them were billed in their record's untagged allocation instead.
   */
  'allocations.rolled-up': { tagSets: number };
  /** The tally reached `maxLiveKeys`; see the `onMaxLiveKeys` policy. */
  'tally.full': { liveKeys: number; policy: 'checkpoint' | 'reject' };
  /** Deltas moved from the tally into the store. */
  'usage.checkpointed': { deltas: number; units: number };
  /** Usage that arrived for an hour already sealed; it is billed in `toHour` instead. */
  'usage.late': { fromHour: number; toHour: number; units: number };
  /**
   * A key's total in a closed hour was above what one record may carry (2,147,483,647): the record carries the
   * maximum and `units` are billed in `toHour` instead, never truncated.
   */
  'usage.overflow-carried': { key: UsageKey; fromHour: number; toHour: number; units: number };
  /** Closed hours turned into immutable records. */
  'records.sealed': { records: number; units: number };
  /** AWS accepted the record (or acknowledged an identical resend). */
  'record.accepted': { record: UsageRecord; meteringRecordId: string | undefined; resend: boolean };
  /** The record will be sent again, identical, at `notBefore`. */
  'record.retrying': { record: UsageRecord; reason: string; attempts: number; notBefore: number };
  /** The record will not be billed; it is kept as a dead letter with the reason. */
  'record.dead-lettered': { record: UsageRecord; reason: DeadLetterReason; detail: string };
  /**
   * AWS answered `DuplicateRecord` for a record never sent before: someone else billed that key and hour. The
   * quantity moves to the next open hour.
   */
  'record.carried-forward': { record: UsageRecord; reason: 'duplicate-record' };
  /** A record is older than `warnAgeMillis` and still unsent. */
  'record.aging': { record: UsageRecord; ageMillis: number };
  /** A whole call failed for a reason no record can fix (credentials, product, region). Records stay queued. */
  'export.failed': { code: string; message: string; records: number };
  /**
   * Usage a shutdown left unbilled. With the memory store it is lost with the process (`left.fate: 'lost'`); a store
   * that outlives the process keeps it for the next start (`'kept'`). `left` counts open, carried, unsent and
   * unanswered units separately; `unanswered` records were sent but their answer was lost: AWS may have billed them.
   */
  'usage.unsent-at-shutdown': {
    /** Every sealed record still in the outbox (unsent and unanswered). */
    records: readonly UsageRecord[];
    /** Units counted but never sealed (the open hour), carried units excluded. */
    openUnits: number;
    left: UsageLeftAtShutdown;
    /** The records of `records` that may have been billed: sent, no answer. */
    unanswered: readonly UsageRecord[];
  };
  /**
   * One call to the sink ended. `outcome`: `answered` (per-record outcomes), `rejected` (the whole call refused for a
   * record in it), or why nothing is known to be processed (`throttled`, `server-error`, `network`, `timeout`,
   * `failed`). For metrics and health; emitted off the request path.
   */
  'export.completed': {
    outcome: ExportCallOutcome;
    code: string | undefined;
    records: number;
    durationMillis: number;
  };
  /** The first call to fail after a success (or since start): the sink is failing. Records stay queued. */
  'sink.failing': { since: number; outcome: ExportCallOutcome; code: string | undefined; message: string };
  /** The first call answered after `sink.failing`. */
  'sink.recovered': { failedForMillis: number; failedCalls: number };
  /**
   * Usage of a customer AWS has not confirmed yet (registered, no `subscribe-success`): held in memory, billed if the
   * subscription is confirmed within the same UTC hour. Emitted once per customer, dimension and hour.
   */
  'usage.held': { customer: string; dimension: string; hourStart: number };
  /**
   * Held usage that will not be billed: the hour closed before `subscribe-success` (`not-subscribed`), or the
   * subscription failed (`subscribe-failed`). `customer` is redacted.
   */
  'usage.not-billed': {
    customer: string;
    dimension: string;
    hourStart: number;
    units: number;
    reason: 'not-subscribed' | 'subscribe-failed';
  };
  /** The engine learnt a customer's new subscription state. `customer` is redacted. */
  'subscription.changed': { customer: string; from: string | undefined; to: string; source: string };
  /** Zero-quantity deltas added for the subscribed customers of the registry, for the closed hours from `fromHour`. */
  'heartbeats.added': { fromHour: number; toHour: number; customers: number; deltas: number };
  /** A background task failed; it is retried on the next tick. */
  'engine.error': { operation: string; error: unknown };
}

export type MeteringEventName = keyof MeteringEvents;
export type MeteringListener<K extends MeteringEventName> = (payload: MeteringEvents[K]) => void;

/** A small typed emitter. A listener that throws is reported to `onListenerError`, never to the emitter's caller. */
export class MeteringEventEmitter {
  readonly #listeners = new Map<MeteringEventName, Set<(payload: never) => void>>();
  readonly #onListenerError: (error: unknown, event: MeteringEventName) => void;
  readonly #observe: ((event: MeteringEventName, payload: unknown) => void) | undefined;

  /**
   * @param observe sees every event before the listeners do, without counting as a listener (the engine counts and
   * logs refusals through it). It must not throw.
   */
  constructor(
    onListenerError: (error: unknown, event: MeteringEventName) => void,
    observe?: (event: MeteringEventName, payload: unknown) => void,
  ) {
    this.#onListenerError = onListenerError;
    this.#observe = observe;
  }

  /** Subscribes; returns the function that unsubscribes. */
  on<K extends MeteringEventName>(event: K, listener: MeteringListener<K>): () => void {
    let set = this.#listeners.get(event);
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    set.add(listener as (payload: never) => void);
    return () => this.off(event, listener);
  }

  off<K extends MeteringEventName>(event: K, listener: MeteringListener<K>): void {
    this.#listeners.get(event)?.delete(listener as (payload: never) => void);
  }

  hasListeners(event: MeteringEventName): boolean {
    return (this.#listeners.get(event)?.size ?? 0) > 0;
  }

  emit<K extends MeteringEventName>(event: K, payload: MeteringEvents[K]): void {
    this.#observe?.(event, payload);
    const set = this.#listeners.get(event);
    if (set === undefined) return;
    for (const listener of set) {
      try {
        (listener as MeteringListener<K>)(payload);
      } catch (error) {
        this.#onListenerError(error, event);
      }
    }
  }
}
