/** The in-process store: open hours, outbox, dead letters and audit log in this process's memory. */
import { MAX_RECORD_QUANTITY, type UsageRecord } from '../model/usage-key.js';
import {
  encodeAllocations,
  encodeAllocationsOf,
  sealAllocations,
  tagSetIdOfTags,
} from '../model/usage-tags.js';
import type {
  AuditEntry,
  DeadLetter,
  OutboxEntry,
  OverflowCarry,
  SealResult,
  Settlement,
  SettleResult,
  StoreStats,
  UsageDelta,
  UsageStore,
} from '../store/usage-store.js';
import { HOUR_MILLIS } from '../time/hours.js';
import { AuditRing } from './audit-ring.js';
import { CompactOutbox } from './compact-outbox.js';
import { OpenHour } from './open-hour.js';

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
  private readonly openHours = new Map<number, OpenHour>();
  private closedBefore = Number.NEGATIVE_INFINITY;
  /** Kept as running totals: counting a million open keys on every `stats()` would block the event loop. */
  private openKeys = 0;
  private openUnits = 0;
  private readonly outbox = new CompactOutbox();
  private readonly dead = new Map<string, DeadLetter>();
  private readonly audit: AuditRing;
  private acceptedCount = 0;

  constructor(options: MemoryStoreOptions = {}) {
    this.audit = new AuditRing(options.auditCapacity ?? 10_000);
  }

  async addDeltas(deltas: readonly UsageDelta[]): Promise<void> {
    for (const delta of deltas) this.addOpen(delta.keyId, delta.hourStart, delta.quantity, delta.tags);
  }

  async sealClosedHours(closeBefore: number, limit: number): Promise<SealResult> {
    if (closeBefore > this.closedBefore) this.closedBefore = closeBefore;
    let sealedRecords = 0;
    let sealedUnits = 0;
    const carried: OverflowCarry[] = [];
    let rolledUpTagSets = 0;
    // The earliest closed hour is looked up afresh each time: an overflow carried into the next hour must be sealed
    // before any later hour, or a later hour could be sealed twice for the same key.
    for (;;) {
      const earliest = this.earliestClosedHour();
      if (earliest === undefined) break;
      // An hour hands out its entries in arrival order and remembers where it stopped, so slices of a large hour never
      // rescan what they sealed.
      const { hourStart, entries } = earliest;
      while (sealedRecords < limit) {
        const position = entries.takeEarliest();
        if (position < 0) break;
        const keyId = entries.keyIdAt(position);
        const total = entries.totalAt(position);
        let quantity = total;
        const tagged = entries.takeTaggedAt(position);
        let allocations: string | undefined;
        if (tagged !== undefined) {
          // Tagged usage: one record all the same, its allocations fixed here (and the excess of each carried).
          const split = sealAllocations(total, tagged, MAX_RECORD_QUANTITY);
          rolledUpTagSets += split.rolledUp;
          for (const [tagSetId, excess] of split.carried)
            this.addToHour(keyId, hourStart + HOUR_MILLIS, excess, tagSetId);
          if (quantity > MAX_RECORD_QUANTITY) {
            carried.push({ keyId, fromHour: hourStart, units: quantity - MAX_RECORD_QUANTITY });
            quantity = MAX_RECORD_QUANTITY;
          }
          if (split.parts.length > 0) allocations = encodeAllocations(split.parts);
        } else if (quantity > MAX_RECORD_QUANTITY) {
          // One record may carry at most the service's maximum; the rest is billed in the next hour, never truncated.
          this.addToHour(keyId, hourStart + HOUR_MILLIS, quantity - MAX_RECORD_QUANTITY);
          carried.push({ keyId, fromHour: hourStart, units: quantity - MAX_RECORD_QUANTITY });
          quantity = MAX_RECORD_QUANTITY;
        }
        this.openKeys -= 1;
        this.openUnits -= total;
        this.outbox.add(keyId, hourStart, quantity, 0, allocations);
        sealedRecords += 1;
        sealedUnits += quantity;
      }
      if (sealedRecords >= limit && entries.size > 0)
        return { sealedRecords, sealedUnits, carried, more: true, rolledUpTagSets };
      this.openHours.delete(hourStart);
    }
    return { sealedRecords, sealedUnits, carried, more: false, rolledUpTagSets };
  }

  /** The earliest open hour before `closedBefore`, with its entries. */
  private earliestClosedHour(): { hourStart: number; entries: OpenHour } | undefined {
    let earliest: { hourStart: number; entries: OpenHour } | undefined;
    for (const [hourStart, entries] of this.openHours) {
      if (hourStart >= this.closedBefore) continue;
      if (earliest === undefined || hourStart < earliest.hourStart) earliest = { hourStart, entries };
    }
    return earliest;
  }

  async takeDue(now: number, limit: number, leaseMillis: number): Promise<OutboxEntry[]> {
    return this.outbox.takeDue(now, limit, leaseMillis);
  }

  async settle(settlements: readonly Settlement[]): Promise<SettleResult> {
    let applied = 0;
    let stale = 0;
    for (const s of settlements) {
      const slot = this.outbox.leasedSlotOf(s.id, s.claim);
      if (slot < 0) {
        stale += 1;
        continue;
      }
      applied += 1;
      const record = this.outbox.leasedRecord(slot);
      switch (s.kind) {
        case 'accepted':
          this.outbox.remove(slot);
          this.acceptedCount += 1;
          this.audit.push(record.keyId, record.hourStart, record.quantity, s.meteringRecordId, s.at);
          break;
        case 'retry':
          this.outbox.retry(slot, s.notBefore);
          break;
        case 'dead':
          this.dead.set(s.id, {
            record,
            reason: s.reason,
            detail: s.detail,
            at: s.at,
            attempts: this.outbox.attemptsOf(slot),
          });
          this.outbox.remove(slot);
          break;
        case 'carry':
          this.outbox.remove(slot);
          this.carry(record);
          break;
      }
    }
    return { applied, stale };
  }

  async pending(limit: number): Promise<UsageRecord[]> {
    return this.outbox.pending(limit);
  }

  async deadLetters(limit: number): Promise<DeadLetter[]> {
    return [...this.dead.values()].slice(0, limit);
  }

  async requeueDeadLetters(ids: readonly string[], _now: number): Promise<number> {
    const letters: DeadLetter[] = [];
    for (const id of ids) {
      const letter = this.dead.get(id);
      if (letter !== undefined) letters.push(letter);
    }
    // A key and hour is never sealed twice, so none of these should still be in the outbox; checked all the same.
    const held = this.outbox.heldAmong(letters.map((l) => l.record));
    let moved = 0;
    for (const letter of letters) {
      const { record } = letter;
      if (held.has(record.id) || !this.dead.has(record.id)) continue;
      this.dead.delete(record.id);
      this.outbox.add(
        record.keyId,
        record.hourStart,
        record.quantity,
        letter.attempts,
        encodeAllocationsOf(record.allocations),
      );
      moved += 1;
    }
    return moved;
  }

  async auditLog(limit: number): Promise<AuditEntry[]> {
    return this.audit.last(limit);
  }

  async stats(): Promise<StoreStats> {
    const outbox = this.outbox.counts();
    return {
      openKeys: this.openKeys,
      openUnits: this.openUnits,
      closedBefore: this.closedBefore,
      outboxReady: outbox.ready,
      outboxWaiting: outbox.waiting,
      outboxLeased: outbox.leased,
      deadLetters: this.dead.size,
      accepted: this.acceptedCount,
    };
  }

  async close(): Promise<void> {}

  /** A record someone else billed: its quantity, allocation by allocation, goes to the next open hour. */
  private carry(record: UsageRecord): void {
    const next = record.hourStart + HOUR_MILLIS;
    if (record.allocations === undefined) {
      this.addOpen(record.keyId, next, record.quantity);
      return;
    }
    for (const allocation of record.allocations)
      this.addOpen(record.keyId, next, allocation.quantity, tagSetIdOfTags(allocation.tags));
  }

  /** New usage for a closed hour lands in the earliest open one. */
  private addOpen(keyId: string, hourStart: number, quantity: number, tagSetId?: string): void {
    this.addToHour(keyId, Math.max(hourStart, this.closedBefore), quantity, tagSetId);
  }

  private addToHour(keyId: string, hourStart: number, quantity: number, tagSetId?: string): void {
    let entries = this.openHours.get(hourStart);
    if (entries === undefined) {
      entries = new OpenHour();
      this.openHours.set(hourStart, entries);
    }
    const keysBefore = entries.size;
    const untagged = tagSetId === undefined || tagSetId === '';
    const excess = untagged ? entries.add(keyId, quantity) : entries.addTagged(keyId, tagSetId, quantity);
    if (entries.size > keysBefore) this.openKeys += 1;
    this.openUnits += quantity - excess;
    // The hour's total for this key reached 2^53 − 1: the rest (under its own tags) is billed in the next hour, as a
    // sealed overflow is.
    if (excess > 0) this.addToHour(keyId, hourStart + HOUR_MILLIS, excess, tagSetId);
  }
}
