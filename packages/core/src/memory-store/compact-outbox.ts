/** The memory store's outbox: sealed records waiting to be sent, as columns indexed by slot. */
import { randomUUID } from 'node:crypto';
import { sealRecord, type UsageRecord } from '../model/usage-key.js';
import type { OutboxEntry } from '../store/usage-store.js';
import { MinHeap } from './heap.js';
import { PagedArray } from './paged-array.js';
import { SlotList } from './slot-list.js';

const FREE = 0;
const READY = 1;
const WAITING = 2;
const LEASED = 3;
type SlotState = typeof FREE | typeof READY | typeof WAITING | typeof LEASED;

/** Up to this many, `pending()` picks the first records in one pass instead of sorting all of them. */
const SMALL_PENDING_LIMIT = 64;
/**
 * Sealed records waiting to be sent, kept as columns (key id, hour, quantity, state...) indexed by slot. A million
 * pending records are then a few hundred pages of arrays instead of millions of small objects that every
 * young-generation collection would copy and every full one would mark. A record object is built only when it is
 * handed out (a record is a pure function of key id, hour, quantity and the allocations fixed at seal, so a resend is
 * the identical record).
 *
 * Order: oldest hour first, then the order records came in (`seq`), exactly as a heap of record objects would give.
 * Sealing adds records in that order already, so they wait in a plain queue; only records that come back (retries,
 * expired leases, requeued dead letters) go through a heap.
 *
 * Leases are columns too, found from the claim token (which carries the slot), not from a `Map` by record id: with a
 * long-lived map that every sent record passes through (set when claimed, deleted when settled), young-generation
 * collections copied and promoted a few hundred bytes per record sent (bench/README.md); with per-slot columns cleared
 * on settlement, none.
 */
export class CompactOutbox {
  // The columns, by slot. Each grows a page at a time (see PagedArray): doubling seven columns of a million slots in
  // one step would block the event loop.
  private readonly keyIds = PagedArray.values<string>();
  private readonly hourStarts = PagedArray.float64();
  private readonly quantities = PagedArray.float64();
  private readonly seqs = PagedArray.float64();
  private readonly attempts = PagedArray.float64();
  private readonly notBefores = PagedArray.float64();
  private readonly states = PagedArray.uint8();
  /** While leased: until when, the claim token, the record handed out, and the slot's place in `leasedSlots`. */
  private readonly leaseUntils = PagedArray.float64();
  private readonly claims = PagedArray.values<string>();
  private readonly leasedRecords = PagedArray.values<UsageRecord>();
  private readonly leasedPositions = PagedArray.float64();
  /** The leased slots, densely (a slot's place is in `leasedPositions`), so expiry never scans every slot. */
  private readonly leasedSlots: number[] = [];
  private readonly free = new SlotList();
  private highWater = 0;
  private nextSeq = 0;
  /** Ready records added in order (hour, then seq); `lastQueuedHour` is the hour of the last one queued. */
  private readonly queued = new SlotList();
  private lastQueuedHour = Number.NEGATIVE_INFINITY;
  /** Ready records that came back, in any order. */
  private readonly returned = new MinHeap<number>((a, b) => this.comesBefore(a, b));
  private readonly waiting = new MinHeap<{ slot: number; seq: number; notBefore: number }>(
    (a, b) => a.notBefore < b.notBefore,
  );
  private readyCount = 0;
  private waitingCount = 0;
  /** Allocations as sealed (encoded) by slot, for records of tagged usage only: most records have none. */
  private readonly allocationsBySlot = new Map<number, string>();

  /** Records held, in any state. */
  get size(): number {
    return this.readyCount + this.waitingCount + this.leasedSlots.length;
  }

  counts(): { ready: number; waiting: number; leased: number } {
    return { ready: this.readyCount, waiting: this.waitingCount, leased: this.leasedSlots.length };
  }

  /** Adds a record, ready now, after every record already held for its hour. */
  add(keyId: string, hourStart: number, quantity: number, attempts: number, allocations?: string): void {
    const slot = this.allocate();
    this.keyIds.set(slot, keyId);
    if (allocations !== undefined) this.allocationsBySlot.set(slot, allocations);
    this.hourStarts.set(slot, hourStart);
    this.quantities.set(slot, quantity);
    this.seqs.set(slot, this.nextSeq++);
    this.attempts.set(slot, attempts);
    this.notBefores.set(slot, 0);
    this.setState(slot, READY);
    if (hourStart >= this.lastQueuedHour) {
      this.queued.push(slot);
      this.lastQueuedHour = hourStart;
    } else {
      this.returned.push(slot);
    }
  }

  /**
   * Claims up to `limit` records due at `now`, oldest hour first, for `leaseMillis`. Expired leases and retries whose
   * time has come are ready again first.
   */
  takeDue(now: number, limit: number, leaseMillis: number): OutboxEntry[] {
    // Backwards: releasing a lease moves the last leased slot into its place.
    for (let k = this.leasedSlots.length - 1; k >= 0; k--) {
      const slot = this.leasedSlots[k];
      if (slot !== undefined && this.leaseUntils.get(slot) <= now) {
        this.release(slot);
        this.setState(slot, READY);
        this.returned.push(slot);
      }
    }
    for (
      let next = this.waiting.peek();
      next !== undefined && next.notBefore <= now;
      next = this.waiting.peek()
    ) {
      this.waiting.pop();
      const { slot } = next;
      if (
        this.states.get(slot) === WAITING &&
        this.seqs.get(slot) === next.seq &&
        this.notBefores.get(slot) === next.notBefore
      ) {
        this.setState(slot, READY);
        this.returned.push(slot);
      }
    }
    const taken: OutboxEntry[] = [];
    while (taken.length < limit) {
      const slot = this.nextReady();
      if (slot < 0) break;
      if (this.states.get(slot) !== READY) continue;
      const attempts = this.attempts.get(slot) + 1;
      this.attempts.set(slot, attempts);
      const record = this.recordAt(slot);
      const claim = `${randomUUID()}/${slot}`;
      this.claims.set(slot, claim);
      this.leasedRecords.set(slot, record);
      this.leaseUntils.set(slot, now + leaseMillis);
      this.leasedPositions.set(slot, this.leasedSlots.length);
      this.leasedSlots.push(slot);
      this.setState(slot, LEASED);
      taken.push({ record, attempts, claim });
    }
    return taken;
  }

  /** The slot record `id` is leased in under `claim`, or -1 when the claim is stale (or not one of ours). */
  leasedSlotOf(id: string, claim: string): number {
    const slot = Number(claim.slice(claim.lastIndexOf('/') + 1));
    if (!Number.isInteger(slot) || slot < 0 || slot >= this.highWater) return -1;
    if (this.claims.get(slot) !== claim) return -1;
    return this.leasedRecords.get(slot)?.id === id ? slot : -1;
  }

  /**
   * The record handed out with the lease in `slot`, a slot {@link leasedSlotOf} has just answered (so it is leased and
   * holds its record until released).
   */
  leasedRecord(slot: number): UsageRecord {
    const record = this.leasedRecords.get(slot);
    if (record === undefined) throw new Error(`outbox slot ${slot} is not leased`);
    return record;
  }

  attemptsOf(slot: number): number {
    return this.attempts.get(slot);
  }

  /** Drops a leased record for good (billed, dead-lettered or carried). */
  remove(slot: number): void {
    this.release(slot);
    this.setState(slot, FREE);
    this.keyIds.set(slot, undefined);
    if (this.allocationsBySlot.size > 0) this.allocationsBySlot.delete(slot);
    this.free.push(slot);
    if (this.size === 0) this.reset();
  }

  /** Puts a leased record back, due again at `notBefore`. */
  retry(slot: number, notBefore: number): void {
    this.release(slot);
    this.notBefores.set(slot, notBefore);
    this.setState(slot, WAITING);
    this.waiting.push({ slot, seq: this.seqs.get(slot), notBefore });
  }

  /**
   * The ids of those `records` whose key and hour the outbox holds (in any state). Scans every slot once: meant for
   * rare operator calls (requeueing dead letters), not for the send path.
   */
  heldAmong(records: readonly UsageRecord[]): Set<string> {
    const wanted = new Map<number, Map<string, string>>();
    for (const record of records) {
      let keys = wanted.get(record.hourStart);
      if (keys === undefined) {
        keys = new Map();
        wanted.set(record.hourStart, keys);
      }
      keys.set(record.keyId, record.id);
    }
    const held = new Set<string>();
    if (wanted.size === 0) return held;
    for (let slot = 0; slot < this.highWater; slot++) {
      if (this.states.get(slot) === FREE) continue;
      const keys = wanted.get(this.hourStarts.get(slot));
      const keyId = this.keyIds.get(slot);
      const id = keys === undefined || keyId === undefined ? undefined : keys.get(keyId);
      if (id !== undefined) held.add(id);
    }
    return held;
  }

  /** Up to `limit` records held, oldest hour first, then in the order they came in. */
  pending(limit: number): UsageRecord[] {
    if (limit <= SMALL_PENDING_LIMIT) return this.firstPending(limit);
    const slots: number[] = [];
    for (let slot = 0; slot < this.highWater; slot++) {
      if (this.states.get(slot) !== FREE) slots.push(slot);
    }
    slots.sort((a, b) => (this.comesBefore(a, b) ? -1 : 1));
    return slots.slice(0, limit).map((slot) => this.recordAt(slot));
  }

  /**
   * The first `limit` records in one pass, without sorting them all: health checks and metrics ask for the oldest one
   * at every collection, and sorting every slot for it would cost them far more CPU.
   */
  private firstPending(limit: number): UsageRecord[] {
    /** The first slots seen so far, in order; at most `limit`. */
    const best: number[] = [];
    for (let slot = 0; slot < this.highWater; slot++) {
      if (this.states.get(slot) === FREE) continue;
      // Its place: after every kept slot it does not come before (a full list is passed over after one comparison).
      let at = best.length;
      for (
        let before = best[at - 1];
        before !== undefined && this.comesBefore(slot, before);
        before = best[at - 1]
      ) {
        at -= 1;
      }
      if (at >= limit) continue;
      best.splice(at, 0, slot);
      if (best.length > limit) best.pop();
    }
    return best.map((slot) => this.recordAt(slot));
  }

  /** The next ready slot to hand out (removed from its list), or -1 when none is ready. */
  private nextReady(): number {
    const queued = this.queued.first();
    const returned = this.returned.peek();
    if (returned !== undefined && (queued < 0 || this.comesBefore(returned, queued))) {
      this.returned.pop();
      return returned;
    }
    return this.queued.shift();
  }

  /** Ends the lease in `slot`, dropping its claim and record (so nothing keeps them alive). */
  private release(slot: number): void {
    // Swap-remove: the last leased slot takes this one's place in `leasedSlots`.
    const position = this.leasedPositions.get(slot);
    const last = this.leasedSlots.pop();
    if (last !== undefined && last !== slot) {
      this.leasedSlots[position] = last;
      this.leasedPositions.set(last, position);
    }
    this.claims.set(slot, undefined);
    this.leasedRecords.set(slot, undefined);
  }

  private recordAt(slot: number): UsageRecord {
    return sealRecord(
      this.keyIds.get(slot) ?? '',
      this.hourStarts.get(slot),
      this.quantities.get(slot),
      this.allocationsBySlot.size === 0 ? undefined : this.allocationsBySlot.get(slot),
    );
  }

  private comesBefore(a: number, b: number): boolean {
    const hourA = this.hourStarts.get(a);
    const hourB = this.hourStarts.get(b);
    return hourA !== hourB ? hourA < hourB : this.seqs.get(a) < this.seqs.get(b);
  }

  private setState(slot: number, state: SlotState): void {
    const before = this.states.get(slot);
    if (before === READY) this.readyCount -= 1;
    else if (before === WAITING) this.waitingCount -= 1;
    if (state === READY) this.readyCount += 1;
    else if (state === WAITING) this.waitingCount += 1;
    this.states.set(slot, state);
  }

  private allocate(): number {
    const reused = this.free.pop();
    return reused >= 0 ? reused : this.highWater++;
  }

  /** Empty again: give back the pages a large backlog needed, rather than keep them for the life of the process. */
  private reset(): void {
    for (const column of this.columns()) column.clear();
    this.free.clear();
    this.queued.clear();
    this.allocationsBySlot.clear();
    this.highWater = 0;
    this.lastQueuedHour = Number.NEGATIVE_INFINITY;
  }

  private columns(): PagedArray<unknown>[] {
    return [
      this.keyIds,
      this.hourStarts,
      this.quantities,
      this.seqs,
      this.attempts,
      this.notBefores,
      this.states,
      this.leaseUntils,
      this.claims,
      this.leasedRecords,
      this.leasedPositions,
    ];
  }
}
