/** Sends due records through the sink and settles every one of them: batches, rate limit, retries, bisection. */
import type { ResolvedMeteringOptions } from '../engine/options.js';
import type { ExportCallOutcome, MeteringEventEmitter } from '../model/events.js';
import type { UsageRecord } from '../model/usage-key.js';
import type { ExportResponse, RecordOutcome } from '../sink/usage-sink.js';
import type { DeadLetterReason, OutboxEntry, Settlement } from '../store/usage-store.js';
import { sleep } from '../time/clock.js';
import { monthEndCutoff } from '../time/hours.js';
import { backoffMillis } from './backoff.js';
import { SlidingWindowLimiter } from './rate-limiter.js';
import { TurnGate } from './turn-gate.js';

/** What one dispatch pass did. */
export interface DispatchCounts {
  calls: number;
  accepted: number;
  /** Units of the accepted records. */
  acceptedUnits: number;
  retrying: number;
  deadLettered: number;
  carriedForward: number;
  /** Units of the records carried forward (moved into the next open hour). */
  carriedUnits: number;
}

export function emptyCounts(): DispatchCounts {
  return {
    calls: 0,
    accepted: 0,
    acceptedUnits: 0,
    retrying: 0,
    deadLettered: 0,
    carriedForward: 0,
    carriedUnits: 0,
  };
}

/**
 * Transport errors that mean the request never left this host (no connection, no address): nothing can have been
 * billed. Resets and timeouts are not here: they can happen after the service committed the call.
 */
const NEVER_CONNECTED = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/**
 * Sends due records and settles every one of them. The only retry layer: a retry is always the same record (same key,
 * hour and quantity), so the service can deduplicate it.
 */
export class Dispatcher {
  private readonly limiter: SlidingWindowLimiter;
  /** One batch per event-loop turn, whichever worker sends it. */
  private readonly turns = new TurnGate();
  private readonly warnedAging = new Set<string>();
  /**
   * Per record id, how many of its attempts this process knows AWS did not commit (throttled, unprocessed, failed).
   * A later DuplicateRecord is our own earlier record only if some earlier attempt may have landed.
   */
  private readonly uncommittedAttempts = new Map<string, number>();
  /**
   * Records waiting for a retry some attempt of which may have reached AWS with its answer lost (5xx, network error,
   * timeout, missing from the answer): AWS may already bill them. A shutdown report must not call them lost.
   */
  private readonly unanswered = new Set<string>();
  /** Ends each call in flight now, as timed out: a shutdown's deadline cuts calls a background pass started. */
  private readonly cutters = new Set<() => void>();
  /** Since when calls have failed without an answer (undefined while the sink answers); one log line per change. */
  private failingSince: number | undefined;
  private failedCalls = 0;

  constructor(
    private readonly o: ResolvedMeteringOptions,
    private readonly events: MeteringEventEmitter,
  ) {
    this.limiter = new SlidingWindowLimiter(o.maxCallsPerSecond, o.clock);
  }

  /** Cuts every call in flight (its answer is then unknown: its records may have been billed) at a shutdown's deadline. */
  cutInFlight(): void {
    for (const cut of [...this.cutters]) cut();
  }

  /** True when an attempt of this (still unsettled) record may have been billed though no answer came back. */
  mayHaveLanded(recordId: string): boolean {
    return this.unanswered.has(recordId);
  }

  /**
   * Claims one round of due records, sends them and settles them. Returns how many records it claimed. No call starts
   * or stays in flight past `deadline` (a shutdown's bound): what it cuts is settled as a retry.
   */
  async pass(counts: DispatchCounts, deadline = Number.POSITIVE_INFINITY): Promise<number> {
    const o = this.o;
    const claimLimit = o.sink.maxBatchSize * o.maxConcurrentExports;
    const entries = await o.store.takeDue(o.clock.now(), claimLimit, o.leaseMillis);
    if (entries.length === 0) return 0;
    const now = o.clock.now();
    const sendable: OutboxEntry[] = [];
    const expired: Settlement[] = [];
    for (const entry of entries) {
      const reason = this.tooOld(entry.record, now);
      if (reason !== undefined) {
        expired.push({
          kind: 'dead',
          id: entry.record.id,
          claim: entry.claim,
          reason: 'too-old',
          detail: reason,
          at: now,
        });
        continue;
      }
      this.warnIfAging(entry.record, now);
      sendable.push(entry);
    }
    if (expired.length > 0) await this.settle(expired, entries, counts);
    const batches = this.planCalls(sendable);
    const workers: Promise<void>[] = [];
    for (let w = 0; w < Math.min(o.maxConcurrentExports, batches.length); w++) {
      workers.push(
        (async () => {
          // A sink that answers without real I/O (a test double, a local queue) would otherwise run a whole pass
          // as one chain of microtasks, with no turn for requests in between.
          for (;;) {
            await this.turns.next();
            const batch = batches.shift();
            if (batch === undefined) break;
            await this.sendBatch(batch, counts, deadline);
          }
        })(),
      );
    }
    await Promise.all(workers);
    return entries.length;
  }

  /**
   * The sink's batches, one per call, as claimed entries. A record the sink left out goes in a call of its own (any
   * single record is a valid call), so it is not left waiting for its lease to expire; one it named twice, or that
   * was never claimed, is not sent.
   */
  private planCalls(entries: readonly OutboxEntry[]): OutboxEntry[][] {
    const unplanned = new Map(entries.map((e) => [e.record.id, e]));
    const calls: OutboxEntry[][] = [];
    for (const records of this.o.sink.planBatches(entries.map((e) => e.record))) {
      const call: OutboxEntry[] = [];
      for (const record of records) {
        const entry = unplanned.get(record.id);
        if (entry === undefined) continue;
        unplanned.delete(record.id);
        call.push(entry);
      }
      if (call.length > 0) calls.push(call);
    }
    for (const entry of unplanned.values()) calls.push([entry]);
    return calls;
  }

  /** Sends one batch; a request-level rejection is bisected until the bad record stands alone. */
  private async sendBatch(batch: OutboxEntry[], counts: DispatchCounts, deadline: number): Promise<void> {
    if (!(await this.acquireToken(deadline))) {
      // The deadline came first: nothing was sent, so nothing of this batch can have been billed.
      const now = this.o.clock.now();
      for (const entry of batch) this.noteUncommitted(entry);
      await this.settle(
        batch.map((entry) => this.retry(entry, now, 'deadline: not sent before the shutdown deadline')),
        batch,
        counts,
      );
      return;
    }
    counts.calls += 1;
    const startedAt = this.o.clock.now();
    const response = await this.exportWithTimeout(
      batch.map((e) => e.record),
      deadline,
    );
    const now = this.o.clock.now();
    this.noteCall(response, batch.length, startedAt, now);
    const settlements: Settlement[] = [];
    switch (response.status) {
      case 'done': {
        const outcomes = new Map<string, RecordOutcome>(response.outcomes.map((r) => [r.id, r]));
        for (const entry of batch)
          settlements.push(this.settlementFor(entry, outcomes.get(entry.record.id), now));
        break;
      }
      case 'retryable': {
        const throttled = response.reason === 'throttled';
        if (throttled) this.limiter.drain();
        const neverSent = throttled || (response.reason === 'network' && NEVER_CONNECTED.has(response.code));
        for (const entry of batch) {
          // Throttling refuses the call before anything is processed, and a refused connection never carried it; a
          // 5xx, a reset or a timeout may have landed.
          if (neverSent) this.noteUncommitted(entry);
          const delay = Math.max(
            response.retryAfterMillis ?? 0,
            backoffMillis(entry.attempts, this.o.retryBaseMillis, this.o.retryMaxMillis, this.o.random),
          );
          settlements.push(this.retry(entry, now + delay, `${response.reason}: ${response.code}`));
        }
        break;
      }
      case 'rejected': {
        if (batch.length > 1) {
          // One bad record refuses the whole call: split until it stands alone, so the good ones still go.
          const middle = Math.ceil(batch.length / 2);
          await this.sendBatch(batch.slice(0, middle), counts, deadline);
          await this.sendBatch(batch.slice(middle), counts, deadline);
          return;
        }
        const [entry] = batch;
        if (entry === undefined) return;
        const reason: DeadLetterReason = response.tooOld === true ? 'too-old' : 'rejected';
        settlements.push(this.dead(entry, reason, `${response.code}: ${response.message}`, now));
        break;
      }
      case 'failed': {
        this.events.emit('export.failed', {
          code: response.code,
          message: response.message,
          records: batch.length,
        });
        for (const entry of batch) {
          this.noteUncommitted(entry);
          settlements.push(this.retry(entry, now + this.o.failedRetryMillis, `failed: ${response.code}`));
        }
        break;
      }
    }
    await this.settle(settlements, batch, counts);
  }

  /** Reports the call, and logs the sink's first failure and its recovery (one line each, never one per call). */
  private noteCall(response: ExportResponse, records: number, startedAt: number, now: number): void {
    const outcome: ExportCallOutcome =
      response.status === 'done'
        ? 'answered'
        : response.status === 'retryable'
          ? response.reason === 'throttled'
            ? 'throttled'
            : response.reason
          : response.status;
    const code = response.status === 'done' ? undefined : response.code;
    if (this.events.hasListeners('export.completed')) {
      this.events.emit('export.completed', { outcome, code, records, durationMillis: now - startedAt });
    }
    // Throttling says the service is there and busy: neither a failure nor a recovery.
    if (outcome === 'throttled') return;
    if (outcome === 'answered' || outcome === 'rejected') {
      if (this.failingSince === undefined) return;
      const failedForMillis = now - this.failingSince;
      const failedCalls = this.failedCalls;
      this.failingSince = undefined;
      this.failedCalls = 0;
      this.events.emit('sink.recovered', { failedForMillis, failedCalls });
      this.o.logger.info('the sink answers again; queued records are being sent', {
        sink: this.o.sink.name,
        failedForMillis,
        failedCalls,
      });
      return;
    }
    this.failedCalls += 1;
    if (this.failingSince !== undefined) return;
    this.failingSince = startedAt;
    const message = response.status === 'done' ? '' : response.message;
    this.events.emit('sink.failing', { since: startedAt, outcome, code, message });
    const log = outcome === 'failed' ? this.o.logger.error : this.o.logger.warn;
    log.call(
      this.o.logger,
      outcome === 'failed'
        ? 'calls to the sink are refused for a reason no record can fix (credentials, product, region); records stay queued'
        : 'calls to the sink are failing; records stay queued and are retried unchanged',
      { sink: this.o.sink.name, outcome, code, message },
    );
  }

  private settlementFor(entry: OutboxEntry, outcome: RecordOutcome | undefined, now: number): Settlement {
    const { id } = entry.record;
    switch (outcome?.status) {
      case 'success':
        return {
          kind: 'accepted',
          id,
          claim: entry.claim,
          meteringRecordId: outcome.meteringRecordId,
          at: now,
        };
      case 'duplicate': {
        // If an earlier attempt may have landed (its answer lost), AWS is echoing our own record: it is billed.
        // Otherwise someone else billed this key and hour, and our quantity moves to the next open hour.
        const mayHaveLanded =
          this.o.sink.identicalResendIsDuplicate !== false &&
          entry.attempts - 1 > (this.uncommittedAttempts.get(id) ?? 0);
        if (mayHaveLanded)
          return { kind: 'accepted', id, claim: entry.claim, meteringRecordId: undefined, at: now };
        return { kind: 'carry', id, claim: entry.claim, at: now };
      }
      case 'not-subscribed':
        return this.dead(entry, 'customer-not-subscribed', 'CustomerNotSubscribed', now);
      default: {
        // Unprocessed is AWS saying it did not commit the record; a record missing from the answer may have landed.
        if (outcome?.status === 'unprocessed') this.noteUncommitted(entry);
        const delay = backoffMillis(
          entry.attempts,
          this.o.retryBaseMillis,
          this.o.retryMaxMillis,
          this.o.random,
        );
        return this.retry(
          entry,
          now + delay,
          outcome === undefined ? 'missing from the response' : 'unprocessed',
        );
      }
    }
  }

  private noteUncommitted(entry: OutboxEntry): void {
    this.uncommittedAttempts.set(entry.record.id, (this.uncommittedAttempts.get(entry.record.id) ?? 0) + 1);
  }

  private retry(entry: OutboxEntry, notBefore: number, reason: string): Settlement {
    return { kind: 'retry', id: entry.record.id, claim: entry.claim, notBefore, reason };
  }

  private dead(entry: OutboxEntry, reason: DeadLetterReason, detail: string, at: number): Settlement {
    return { kind: 'dead', id: entry.record.id, claim: entry.claim, reason, detail, at };
  }

  private async settle(settlements: Settlement[], entries: readonly OutboxEntry[], counts: DispatchCounts) {
    await this.o.store.settle(settlements);
    const byId = new Map(entries.map((e) => [e.record.id, e]));
    for (const s of settlements) {
      const entry = byId.get(s.id);
      // Every settlement is built from one of `entries`; a stranger has nothing to report.
      if (entry === undefined) continue;
      const record = entry.record;
      if (s.kind !== 'retry') {
        this.uncommittedAttempts.delete(record.id);
        this.unanswered.delete(record.id);
      } else if (entry.attempts > (this.uncommittedAttempts.get(record.id) ?? 0)) {
        this.unanswered.add(record.id);
      }
      switch (s.kind) {
        case 'accepted':
          counts.accepted += 1;
          counts.acceptedUnits += record.quantity;
          this.warnedAging.delete(record.id);
          this.events.emit('record.accepted', {
            record,
            meteringRecordId: s.meteringRecordId,
            resend: entry.attempts > 1,
          });
          break;
        case 'retry':
          counts.retrying += 1;
          this.events.emit('record.retrying', {
            record,
            reason: s.reason,
            attempts: entry.attempts,
            notBefore: s.notBefore,
          });
          break;
        case 'dead':
          counts.deadLettered += 1;
          this.events.emit('record.dead-lettered', { record, reason: s.reason, detail: s.detail });
          this.o.logger.warn('a record was dead-lettered', {
            recordId: record.id,
            reason: s.reason,
            detail: s.detail,
          });
          break;
        case 'carry':
          counts.carriedForward += 1;
          counts.carriedUnits += record.quantity;
          this.events.emit('record.carried-forward', { record, reason: 'duplicate-record' });
          this.o.logger.warn(
            'AWS already holds a record for this key and hour (another sender?); its quantity moves to the next hour',
            { recordId: record.id },
          );
          break;
      }
    }
  }

  /** Waits for a call token; false when `deadline` comes first. */
  private async acquireToken(deadline: number): Promise<boolean> {
    for (;;) {
      const remaining = deadline - this.o.clock.now();
      if (remaining <= 0) return false;
      if (this.limiter.tryTake()) return true;
      await sleep(this.o.timers, Math.min(remaining, this.limiter.waitMillis()));
    }
  }

  private async exportWithTimeout(
    records: readonly UsageRecord[],
    deadline: number,
  ): Promise<ExportResponse> {
    const controller = new AbortController();
    const { timers, sink } = this.o;
    // A call in flight at a shutdown's deadline is cut there; its answer is then unknown (it may have landed).
    const exportTimeoutMillis = Math.max(
      1,
      Math.min(this.o.exportTimeoutMillis, deadline - this.o.clock.now()),
    );
    let timer: ReturnType<typeof timers.setTimeout> | undefined;
    let cut: (() => void) | undefined;
    const timeout = new Promise<ExportResponse>((resolve) => {
      const end = (message: string) => {
        controller.abort();
        resolve({ status: 'retryable', reason: 'timeout', code: 'Timeout', message });
      };
      cut = () => end('cut at the shutdown deadline');
      this.cutters.add(cut);
      timer = timers.setTimeout(() => end(`no answer in ${exportTimeoutMillis} ms`), exportTimeoutMillis);
    });
    try {
      return await Promise.race([
        sink.export(records, { signal: controller.signal }).catch(
          (error: unknown): ExportResponse => ({
            status: 'retryable',
            reason: 'network',
            code: (error as Error)?.name ?? 'Error',
            message: (error as Error)?.message ?? String(error),
          }),
        ),
        timeout,
      ]);
    } finally {
      if (timer !== undefined) timers.clearTimeout(timer);
      if (cut !== undefined) this.cutters.delete(cut);
    }
  }

  /** Why the service would refuse this record as too old, or undefined. */
  private tooOld(record: UsageRecord, now: number): string | undefined {
    if (now - record.hourStart >= this.o.serviceWindowMillis) {
      return `older than the service window (${this.o.serviceWindowMillis} ms)`;
    }
    if (
      this.o.monthEndCutoffHourUtc !== null &&
      now >= monthEndCutoff(record.hourStart, this.o.monthEndCutoffHourUtc)
    ) {
      return `past the month-end cut-off (${this.o.monthEndCutoffHourUtc}:00 UTC on the 1st)`;
    }
    return undefined;
  }

  private warnIfAging(record: UsageRecord, now: number): void {
    const age = now - record.hourStart;
    if (age < this.o.warnAgeMillis || this.warnedAging.has(record.id)) return;
    if (this.warnedAging.size > 100_000) this.warnedAging.clear();
    this.warnedAging.add(record.id);
    this.events.emit('record.aging', { record, ageMillis: age });
  }
}
