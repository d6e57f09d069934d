import { randomUUID } from 'node:crypto';
import { MinHeap } from './heap.js';
import { HOUR_MILLIS } from './hours.js';
import type {
  AuditEntry,
  DeadLetter,
  OutboxEntry,
  SealResult,
  Settlement,
  SettleResult,
  StoreStats,
  UsageDelta,
  UsageStore,
} from './store.js';
import { MAX_RECORD_QUANTITY, sealRecord, type UsageRecord } from './usage-key.js';

interface OutboxState {
  readonly record: UsageRecord;
  readonly seq: number;
  attempts: number;
  state: 'ready' | 'waiting' | 'leased';
  claim: string | undefined;
  leaseUntil: number;
  notBefore: number;
}

export interface MemoryStoreOptions {
  /** Accepted records kept for `auditLog()`; older ones are dropped from memory (they were billed). @default 10000 */
  auditCapacity?: number;
}

/**
 * Keeps everything in this process. Right for one instance: a crash loses what was not yet sent, and two instances
 * would each send their own record for the same key and hour (AWS bills only the first). The engine says so at start-up.
 */
export class MemoryStore implements UsageStore {
  readonly scope = 'process' as const;
  readonly name = 'memory';
  private readonly openHours = new Map<number, Map<string, number>>();
  /** Where sealing stopped in each closed hour, so slices of a large hour never rescan what they sealed. */
  private readonly sealCursors = new Map<number, Iterator<[string, number]>>();
  private closedBefore = Number.NEGATIVE_INFINITY;
  private readonly outbox = new Map<string, OutboxState>();
  private readonly ready = new MinHeap<OutboxState>((a, b) =>
    a.record.hourStart !== b.record.hourStart ? a.record.hourStart < b.record.hourStart : a.seq < b.seq,
  );
  private readonly waiting = new MinHeap<{ state: OutboxState; notBefore: number }>(
    (a, b) => a.notBefore < b.notBefore,
  );
  private readonly leased = new Map<string, OutboxState>();
  private readonly dead = new Map<string, DeadLetter>();
  private readonly audit: AuditEntry[] = [];
  private readonly auditCapacity: number;
  private acceptedCount = 0;
  private seq = 0;

  constructor(options: MemoryStoreOptions = {}) {
    this.auditCapacity = options.auditCapacity ?? 10_000;
  }

  async addDeltas(deltas: readonly UsageDelta[]): Promise<void> {
    for (const delta of deltas) this.addOpen(delta.keyId, delta.hourStart, delta.quantity);
  }

  async sealClosedHours(closeBefore: number, limit: number): Promise<SealResult> {
    if (closeBefore > this.closedBefore) this.closedBefore = closeBefore;
    const sealed: UsageRecord[] = [];
    // The earliest closed hour is looked up afresh each time: an overflow carried into the next hour must be sealed
    // before any later hour, or a later hour could be sealed twice for the same key.
    for (;;) {
      const hourStart = this.earliestClosedHour();
      if (hourStart === undefined) break;
      const entries = this.openHours.get(hourStart) as Map<string, number>;
      // Resume where the last slice stopped: a fresh iterator would walk past every entry already sealed.
      let cursor = this.sealCursors.get(hourStart);
      if (cursor === undefined) {
        cursor = entries.entries();
        this.sealCursors.set(hourStart, cursor);
      }
      while (sealed.length < limit) {
        const next = cursor.next();
        if (next.done === true) break;
        const [keyId, total] = next.value;
        let quantity = total;
        if (quantity > MAX_RECORD_QUANTITY) {
          // One record may carry at most the service's maximum; the rest is billed in the next hour, never truncated.
          this.addToHour(keyId, hourStart + HOUR_MILLIS, quantity - MAX_RECORD_QUANTITY);
          quantity = MAX_RECORD_QUANTITY;
        }
        entries.delete(keyId);
        const record = sealRecord(keyId, hourStart, quantity);
        this.enqueue(record, 0);
        sealed.push(record);
      }
      if (sealed.length >= limit && entries.size > 0) return { sealed, more: true };
      this.openHours.delete(hourStart);
      this.sealCursors.delete(hourStart);
    }
    return { sealed, more: false };
  }

  private earliestClosedHour(): number | undefined {
    let earliest: number | undefined;
    for (const hourStart of this.openHours.keys()) {
      if (hourStart >= this.closedBefore) continue;
      if (earliest === undefined || hourStart < earliest) earliest = hourStart;
    }
    return earliest;
  }

  async takeDue(now: number, limit: number, leaseMillis: number): Promise<OutboxEntry[]> {
    for (const state of this.leased.values()) {
      if (state.leaseUntil <= now) {
        this.leased.delete(state.record.id);
        state.state = 'ready';
        state.claim = undefined;
        this.ready.push(state);
      }
    }
    for (
      let next = this.waiting.peek();
      next !== undefined && next.notBefore <= now;
      next = this.waiting.peek()
    ) {
      this.waiting.pop();
      if (next.state.state === 'waiting' && next.state.notBefore === next.notBefore) {
        next.state.state = 'ready';
        this.ready.push(next.state);
      }
    }
    const taken: OutboxEntry[] = [];
    while (taken.length < limit) {
      const state = this.ready.pop();
      if (state === undefined) break;
      if (state.state !== 'ready' || this.outbox.get(state.record.id) !== state) continue;
      state.state = 'leased';
      state.attempts += 1;
      state.claim = randomUUID();
      state.leaseUntil = now + leaseMillis;
      this.leased.set(state.record.id, state);
      taken.push({ record: state.record, attempts: state.attempts, claim: state.claim });
    }
    return taken;
  }

  async settle(settlements: readonly Settlement[]): Promise<SettleResult> {
    let applied = 0;
    let stale = 0;
    for (const s of settlements) {
      const state = this.outbox.get(s.id);
      if (state === undefined || state.state !== 'leased' || state.claim !== s.claim) {
        stale += 1;
        continue;
      }
      applied += 1;
      this.leased.delete(s.id);
      switch (s.kind) {
        case 'accepted':
          this.outbox.delete(s.id);
          this.acceptedCount += 1;
          this.audit.push({
            recordId: s.id,
            keyId: state.record.keyId,
            hourStart: state.record.hourStart,
            quantity: state.record.quantity,
            meteringRecordId: s.meteringRecordId,
            acceptedAt: s.at,
          });
          // Trim in bulk: dropping one entry per accepted record would shift the whole log every time.
          if (this.audit.length >= 2 * this.auditCapacity) {
            this.audit.splice(0, this.audit.length - this.auditCapacity);
          }
          break;
        case 'retry':
          state.state = 'waiting';
          state.claim = undefined;
          state.notBefore = s.notBefore;
          this.waiting.push({ state, notBefore: s.notBefore });
          break;
        case 'dead':
          this.outbox.delete(s.id);
          this.dead.set(s.id, {
            record: state.record,
            reason: s.reason,
            detail: s.detail,
            at: s.at,
            attempts: state.attempts,
          });
          break;
        case 'carry':
          this.outbox.delete(s.id);
          this.addOpen(state.record.keyId, state.record.hourStart + HOUR_MILLIS, state.record.quantity);
          break;
      }
    }
    return { applied, stale };
  }

  async pending(limit: number): Promise<UsageRecord[]> {
    return [...this.outbox.values()]
      .sort((a, b) => a.record.hourStart - b.record.hourStart || a.seq - b.seq)
      .slice(0, limit)
      .map((s) => s.record);
  }

  async deadLetters(limit: number): Promise<DeadLetter[]> {
    return [...this.dead.values()].slice(0, limit);
  }

  async requeueDeadLetters(ids: readonly string[], now: number): Promise<number> {
    let moved = 0;
    for (const id of ids) {
      const letter = this.dead.get(id);
      if (letter === undefined || this.outbox.has(id)) continue;
      this.dead.delete(id);
      const state = this.enqueue(letter.record, letter.attempts);
      state.notBefore = now;
      moved += 1;
    }
    return moved;
  }

  async auditLog(limit: number): Promise<AuditEntry[]> {
    const count = Math.min(limit, this.auditCapacity);
    return count > 0 ? this.audit.slice(-count) : [];
  }

  async stats(): Promise<StoreStats> {
    let openKeys = 0;
    let openUnits = 0;
    for (const entries of this.openHours.values()) {
      openKeys += entries.size;
      for (const quantity of entries.values()) openUnits += quantity;
    }
    let ready = 0;
    let waiting = 0;
    for (const state of this.outbox.values()) {
      if (state.state === 'ready') ready += 1;
      else if (state.state === 'waiting') waiting += 1;
    }
    return {
      openKeys,
      openUnits,
      closedBefore: this.closedBefore,
      outboxReady: ready,
      outboxWaiting: waiting,
      outboxLeased: this.leased.size,
      deadLetters: this.dead.size,
      accepted: this.acceptedCount,
    };
  }

  async close(): Promise<void> {}

  /** New usage for a closed hour lands in the earliest open one. */
  private addOpen(keyId: string, hourStart: number, quantity: number): void {
    this.addToHour(keyId, Math.max(hourStart, this.closedBefore), quantity);
  }

  private addToHour(keyId: string, hourStart: number, quantity: number): void {
    let entries = this.openHours.get(hourStart);
    if (entries === undefined) {
      entries = new Map();
      this.openHours.set(hourStart, entries);
    }
    entries.set(keyId, (entries.get(keyId) ?? 0) + quantity);
  }

  private enqueue(record: UsageRecord, attempts: number): OutboxState {
    const state: OutboxState = {
      record,
      seq: this.seq++,
      attempts,
      state: 'ready',
      claim: undefined,
      leaseUntil: 0,
      notBefore: 0,
    };
    this.outbox.set(record.id, state);
    this.ready.push(state);
    return state;
  }
}
