import { randomUUID } from 'node:crypto';
import { sealRecord, type UsageRecord } from '../model/usage-key.js';
import type { OutboxEntry } from '../store/usage-store.js';
import { MinHeap } from './heap.js';
import { SlotList } from './slot-list.js';

const FREE = 0;
const READY = 1;
const WAITING = 2;
const LEASED = 3;
type SlotState = typeof FREE | typeof READY | typeof WAITING | typeof LEASED;

const PAGE_BITS = 12;
const PAGE_SIZE = 1 << PAGE_BITS;
const PAGE_MASK = PAGE_SIZE - 1;

/** Up to this many, `pending()` picks the first records in one pass instead of sorting all of them. */
const SMALL_PENDING_LIMIT = 64;
/**
 * The columns of `PAGE_SIZE` slots. Columns grow a page at a time: doubling seven columns of a million slots in one
 * step (allocate, zero, copy) blocks the event loop for over 20 ms.
 */
class Page {
  readonly keyIds: (string | undefined)[] = new Array<string | undefined>(PAGE_SIZE).fill(undefined);
  readonly hourStarts = new Float64Array(PAGE_SIZE);
  readonly quantities = new Float64Array(PAGE_SIZE);
  readonly seqs = new Float64Array(PAGE_SIZE);
  readonly attempts = new Float64Array(PAGE_SIZE);
  readonly notBefores = new Float64Array(PAGE_SIZE);
  readonly states = new Uint8Array(PAGE_SIZE);
  /** While leased: until when, the claim token, the record handed out, and the slot's place in `leasedSlots`. */
  readonly leaseUntils = new Float64Array(PAGE_SIZE);
  readonly claims: (string | undefined)[] = new Array<string | undefined>(PAGE_SIZE).fill(undefined);
  readonly leasedRecords: (UsageRecord | undefined)[] = new Array<UsageRecord | undefined>(PAGE_SIZE).fill(
    undefined,
  );
  readonly leasedPositions = new Float64Array(PAGE_SIZE);
}

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
 * collections copied and promoted about 500 bytes per record sent; with per-slot columns cleared on settlement, none.
 */
export class CompactOutbox {
  private pages: Page[] = [];
  /** The leased slots, densely (a slot's place is in its page's `leasedPositions`), so expiry never scans every slot. */
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
    const page = this.pageOf(slot);
    const i = slot & PAGE_MASK;
    page.keyIds[i] = keyId;
    if (allocations !== undefined) this.allocationsBySlot.set(slot, allocations);
    page.hourStarts[i] = hourStart;
    page.quantities[i] = quantity;
    page.seqs[i] = this.nextSeq++;
    page.attempts[i] = attempts;
    page.notBefores[i] = 0;
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
      const slot = this.leasedSlots[k] as number;
      if ((this.pageOf(slot).leaseUntils[slot & PAGE_MASK] as number) <= now) {
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
      const page = this.pageOf(slot);
      const i = slot & PAGE_MASK;
      if (page.states[i] === WAITING && page.seqs[i] === next.seq && page.notBefores[i] === next.notBefore) {
        this.setState(slot, READY);
        this.returned.push(slot);
      }
    }
    const taken: OutboxEntry[] = [];
    while (taken.length < limit) {
      const slot = this.nextReady();
      if (slot < 0) break;
      const page = this.pageOf(slot);
      const i = slot & PAGE_MASK;
      if (page.states[i] !== READY) continue;
      const attempts = (page.attempts[i] as number) + 1;
      page.attempts[i] = attempts;
      const record = this.recordAt(slot);
      const claim = `${randomUUID()}/${slot}`;
      page.claims[i] = claim;
      page.leasedRecords[i] = record;
      page.leaseUntils[i] = now + leaseMillis;
      page.leasedPositions[i] = this.leasedSlots.length;
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
    const page = this.pageOf(slot);
    const i = slot & PAGE_MASK;
    if (page.claims[i] !== claim) return -1;
    return (page.leasedRecords[i] as UsageRecord).id === id ? slot : -1;
  }

  /** The record handed out with the lease in `slot`. */
  leasedRecord(slot: number): UsageRecord {
    return this.pageOf(slot).leasedRecords[slot & PAGE_MASK] as UsageRecord;
  }

  attemptsOf(slot: number): number {
    return this.pageOf(slot).attempts[slot & PAGE_MASK] as number;
  }

  /** Drops a leased record for good (billed, dead-lettered or carried). */
  remove(slot: number): void {
    this.release(slot);
    this.setState(slot, FREE);
    this.pageOf(slot).keyIds[slot & PAGE_MASK] = undefined;
    if (this.allocationsBySlot.size > 0) this.allocationsBySlot.delete(slot);
    this.free.push(slot);
    if (this.size === 0) this.reset();
  }

  /** Puts a leased record back, due again at `notBefore`. */
  retry(slot: number, notBefore: number): void {
    this.release(slot);
    const page = this.pageOf(slot);
    const i = slot & PAGE_MASK;
    page.notBefores[i] = notBefore;
    this.setState(slot, WAITING);
    this.waiting.push({ slot, seq: page.seqs[i] as number, notBefore });
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
      const page = this.pageOf(slot);
      const i = slot & PAGE_MASK;
      if (page.states[i] === FREE) continue;
      const id = wanted.get(page.hourStarts[i] as number)?.get(page.keyIds[i] as string);
      if (id !== undefined) held.add(id);
    }
    return held;
  }

  /** Up to `limit` records held, oldest hour first, then in the order they came in. */
  pending(limit: number): UsageRecord[] {
    if (limit <= SMALL_PENDING_LIMIT) return this.firstPending(limit);
    const slots: number[] = [];
    for (let slot = 0; slot < this.highWater; slot++) {
      if (this.pageOf(slot).states[slot & PAGE_MASK] !== FREE) slots.push(slot);
    }
    slots.sort((a, b) => (this.comesBefore(a, b) ? -1 : 1));
    return slots.slice(0, limit).map((slot) => this.recordAt(slot));
  }

  /**
   * The first `limit` records in one pass, without sorting them all: health checks and metrics ask for the oldest one
   * at every collection, and sorting a million slots for it would cost them a second of CPU.
   */
  private firstPending(limit: number): UsageRecord[] {
    const best: number[] = [];
    for (let slot = 0; slot < this.highWater; slot++) {
      if (this.pageOf(slot).states[slot & PAGE_MASK] === FREE) continue;
      if (best.length === limit && !this.comesBefore(slot, best[limit - 1] as number)) continue;
      let at = best.length === limit ? limit - 1 : best.length;
      while (at > 0 && this.comesBefore(slot, best[at - 1] as number)) {
        best[at] = best[at - 1] as number;
        at -= 1;
      }
      best[at] = slot;
    }
    return best.map((slot) => this.recordAt(slot));
  }

  /** The next ready slot to hand out (removed from its list), or -1 when none is ready. */
  private nextReady(): number {
    const queued = this.queued.first();
    const returned = this.returned.peek();
    if (returned !== undefined && (queued < 0 || this.comesBefore(returned, queued))) {
      return this.returned.pop() as number;
    }
    return this.queued.shift();
  }

  private pageOf(slot: number): Page {
    return this.pages[slot >>> PAGE_BITS] as Page;
  }

  /** Ends the lease in `slot`, dropping its claim and record (so nothing keeps them alive). */
  private release(slot: number): void {
    const page = this.pageOf(slot);
    const i = slot & PAGE_MASK;
    const position = page.leasedPositions[i] as number;
    const last = this.leasedSlots.pop() as number;
    if (last !== slot) {
      this.leasedSlots[position] = last;
      this.pageOf(last).leasedPositions[last & PAGE_MASK] = position;
    }
    page.claims[i] = undefined;
    page.leasedRecords[i] = undefined;
  }

  private recordAt(slot: number): UsageRecord {
    const page = this.pageOf(slot);
    const i = slot & PAGE_MASK;
    return sealRecord(
      page.keyIds[i] as string,
      page.hourStarts[i] as number,
      page.quantities[i] as number,
      this.allocationsBySlot.size === 0 ? undefined : this.allocationsBySlot.get(slot),
    );
  }

  private comesBefore(a: number, b: number): boolean {
    const pageA = this.pageOf(a);
    const pageB = this.pageOf(b);
    const hourA = pageA.hourStarts[a & PAGE_MASK] as number;
    const hourB = pageB.hourStarts[b & PAGE_MASK] as number;
    return hourA !== hourB
      ? hourA < hourB
      : (pageA.seqs[a & PAGE_MASK] as number) < (pageB.seqs[b & PAGE_MASK] as number);
  }

  private setState(slot: number, state: SlotState): void {
    const states = this.pageOf(slot).states;
    const i = slot & PAGE_MASK;
    const before = states[i];
    if (before === READY) this.readyCount -= 1;
    else if (before === WAITING) this.waitingCount -= 1;
    if (state === READY) this.readyCount += 1;
    else if (state === WAITING) this.waitingCount += 1;
    states[i] = state;
  }

  private allocate(): number {
    const reused = this.free.pop();
    if (reused >= 0) return reused;
    const slot = this.highWater++;
    if ((slot & PAGE_MASK) === 0) this.pages.push(new Page());
    return slot;
  }

  /** Empty again: give back the pages a large backlog needed, rather than keep them for the life of the process. */
  private reset(): void {
    this.pages = [];
    this.free.clear();
    this.queued.clear();
    this.allocationsBySlot.clear();
    this.highWater = 0;
    this.lastQueuedHour = Number.NEGATIVE_INFINITY;
  }
}
