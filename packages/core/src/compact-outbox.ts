import { randomUUID } from 'node:crypto';
import { MinHeap } from './heap.js';
import type { OutboxEntry } from './store.js';
import { sealRecord, type UsageRecord } from './usage-key.js';

const FREE = 0;
const READY = 1;
const WAITING = 2;
const LEASED = 3;
type SlotState = typeof FREE | typeof READY | typeof WAITING | typeof LEASED;

const INITIAL_SLOTS = 1024;

function grownFloat64(array: Float64Array, length: number): Float64Array<ArrayBuffer> {
  const grown = new Float64Array(length);
  grown.set(array);
  return grown;
}

/**
 * Sealed records waiting to be sent, kept as columns (key id, hour, quantity, state...) indexed by slot. A million
 * pending records are then a handful of large arrays instead of millions of small objects that every young-generation
 * collection would copy and every full one would mark. A record object is built only when it is handed out (a record
 * is a pure function of key id, hour and quantity, so a resend is the identical record).
 *
 * Order: oldest hour first, then the order records came in (`seq`), exactly as a heap of record objects would give.
 *
 * Leases are columns too, found from the claim token (which carries the slot), not from a `Map` by record id: V8 keeps
 * a deleted `Map` entry's key and value until the table is rehashed, so a long-lived map that every sent record passes
 * through keeps thousands of dead records reachable, and each young-generation collection copies and promotes them.
 */
export class CompactOutbox {
  private keyIds: (string | undefined)[] = [];
  private hourStarts = new Float64Array(INITIAL_SLOTS);
  private quantities = new Float64Array(INITIAL_SLOTS);
  private seqs = new Float64Array(INITIAL_SLOTS);
  private attemptCounts = new Float64Array(INITIAL_SLOTS);
  private notBefores = new Float64Array(INITIAL_SLOTS);
  private states = new Uint8Array(INITIAL_SLOTS);
  private leaseUntils = new Float64Array(INITIAL_SLOTS);
  /** Per slot, while leased: the claim token and the record handed out. */
  private claims: (string | undefined)[] = [];
  private leasedRecords: (UsageRecord | undefined)[] = [];
  /** The leased slots, densely (a slot's position is in `leasedPositions`), so expiry never scans every slot. */
  private readonly leasedSlots: number[] = [];
  private leasedPositions = new Float64Array(INITIAL_SLOTS);
  private readonly free: number[] = [];
  private highWater = 0;
  private nextSeq = 0;
  private readonly ready = new MinHeap<number>((a, b) => this.comesBefore(a, b));
  private readonly waiting = new MinHeap<{ slot: number; seq: number; notBefore: number }>(
    (a, b) => a.notBefore < b.notBefore,
  );
  private readyCount = 0;
  private waitingCount = 0;

  /** Records held, in any state. */
  get size(): number {
    return this.readyCount + this.waitingCount + this.leasedSlots.length;
  }

  counts(): { ready: number; waiting: number; leased: number } {
    return { ready: this.readyCount, waiting: this.waitingCount, leased: this.leasedSlots.length };
  }

  /** Adds a record, ready now, after every record already held for its hour. */
  add(keyId: string, hourStart: number, quantity: number, attempts: number): void {
    const slot = this.allocate();
    this.keyIds[slot] = keyId;
    this.hourStarts[slot] = hourStart;
    this.quantities[slot] = quantity;
    this.seqs[slot] = this.nextSeq++;
    this.attemptCounts[slot] = attempts;
    this.notBefores[slot] = 0;
    this.setState(slot, READY);
    this.ready.push(slot);
  }

  /**
   * Claims up to `limit` records due at `now`, oldest hour first, for `leaseMillis`. Expired leases and retries whose
   * time has come are ready again first.
   */
  takeDue(now: number, limit: number, leaseMillis: number): OutboxEntry[] {
    // Backwards: releasing a lease moves the last leased slot into its place.
    for (let i = this.leasedSlots.length - 1; i >= 0; i--) {
      const slot = this.leasedSlots[i] as number;
      if ((this.leaseUntils[slot] as number) <= now) {
        this.release(slot);
        this.setState(slot, READY);
        this.ready.push(slot);
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
        this.states[slot] === WAITING &&
        this.seqs[slot] === next.seq &&
        this.notBefores[slot] === next.notBefore
      ) {
        this.setState(slot, READY);
        this.ready.push(slot);
      }
    }
    const taken: OutboxEntry[] = [];
    while (taken.length < limit) {
      const slot = this.ready.pop();
      if (slot === undefined) break;
      if (this.states[slot] !== READY) continue;
      const attempts = (this.attemptCounts[slot] as number) + 1;
      this.attemptCounts[slot] = attempts;
      const record = this.recordAt(slot);
      const claim = `${randomUUID()}/${slot}`;
      this.claims[slot] = claim;
      this.leasedRecords[slot] = record;
      this.leaseUntils[slot] = now + leaseMillis;
      this.leasedPositions[slot] = this.leasedSlots.length;
      this.leasedSlots.push(slot);
      this.setState(slot, LEASED);
      taken.push({ record, attempts, claim });
    }
    return taken;
  }

  /** The slot record `id` is leased in under `claim`, or -1 when the claim is stale (or not one of ours). */
  leasedSlotOf(id: string, claim: string): number {
    const slot = Number(claim.slice(claim.lastIndexOf('/') + 1));
    if (!Number.isInteger(slot) || slot < 0 || slot >= this.highWater || this.claims[slot] !== claim)
      return -1;
    return (this.leasedRecords[slot] as UsageRecord).id === id ? slot : -1;
  }

  /** The record handed out with the lease in `slot`. */
  leasedRecord(slot: number): UsageRecord {
    return this.leasedRecords[slot] as UsageRecord;
  }

  attemptsOf(slot: number): number {
    return this.attemptCounts[slot] as number;
  }

  /** Drops a leased record for good (billed, dead-lettered or carried). */
  remove(slot: number): void {
    this.release(slot);
    this.setState(slot, FREE);
    this.keyIds[slot] = undefined;
    this.free.push(slot);
    if (this.size === 0) this.reset();
  }

  /** Puts a leased record back, due again at `notBefore`. */
  retry(slot: number, notBefore: number): void {
    this.release(slot);
    this.notBefores[slot] = notBefore;
    this.setState(slot, WAITING);
    this.waiting.push({ slot, seq: this.seqs[slot] as number, notBefore });
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
      if (this.states[slot] === FREE) continue;
      const id = wanted.get(this.hourStarts[slot] as number)?.get(this.keyIds[slot] as string);
      if (id !== undefined) held.add(id);
    }
    return held;
  }

  /** Up to `limit` records held, oldest hour first, then in the order they came in. */
  pending(limit: number): UsageRecord[] {
    const slots: number[] = [];
    for (let slot = 0; slot < this.highWater; slot++) if (this.states[slot] !== FREE) slots.push(slot);
    slots.sort((a, b) => (this.comesBefore(a, b) ? -1 : 1));
    return slots.slice(0, limit).map((slot) => this.recordAt(slot));
  }

  /** Ends the lease in `slot`, dropping its claim and record (so nothing keeps them alive). */
  private release(slot: number): void {
    const position = this.leasedPositions[slot] as number;
    const last = this.leasedSlots.pop() as number;
    if (last !== slot) {
      this.leasedSlots[position] = last;
      this.leasedPositions[last] = position;
    }
    this.claims[slot] = undefined;
    this.leasedRecords[slot] = undefined;
  }

  private recordAt(slot: number): UsageRecord {
    return sealRecord(
      this.keyIds[slot] as string,
      this.hourStarts[slot] as number,
      this.quantities[slot] as number,
    );
  }

  private comesBefore(a: number, b: number): boolean {
    const hourA = this.hourStarts[a] as number;
    const hourB = this.hourStarts[b] as number;
    return hourA !== hourB ? hourA < hourB : (this.seqs[a] as number) < (this.seqs[b] as number);
  }

  private setState(slot: number, state: SlotState): void {
    const before = this.states[slot];
    if (before === READY) this.readyCount -= 1;
    else if (before === WAITING) this.waitingCount -= 1;
    if (state === READY) this.readyCount += 1;
    else if (state === WAITING) this.waitingCount += 1;
    this.states[slot] = state;
  }

  private allocate(): number {
    const reused = this.free.pop();
    if (reused !== undefined) return reused;
    const slot = this.highWater++;
    if (slot >= this.states.length) {
      const length = this.states.length * 2;
      this.hourStarts = grownFloat64(this.hourStarts, length);
      this.quantities = grownFloat64(this.quantities, length);
      this.seqs = grownFloat64(this.seqs, length);
      this.attemptCounts = grownFloat64(this.attemptCounts, length);
      this.notBefores = grownFloat64(this.notBefores, length);
      this.leaseUntils = grownFloat64(this.leaseUntils, length);
      this.leasedPositions = grownFloat64(this.leasedPositions, length);
      const states = new Uint8Array(length);
      states.set(this.states);
      this.states = states;
    }
    return slot;
  }

  /** Empty again: give back the columns a large backlog grew, rather than keep them for the life of the process. */
  private reset(): void {
    this.free.length = 0;
    this.highWater = 0;
    this.keyIds = [];
    this.claims = [];
    this.leasedRecords = [];
    if (this.states.length > INITIAL_SLOTS) {
      this.hourStarts = new Float64Array(INITIAL_SLOTS);
      this.quantities = new Float64Array(INITIAL_SLOTS);
      this.seqs = new Float64Array(INITIAL_SLOTS);
      this.attemptCounts = new Float64Array(INITIAL_SLOTS);
      this.notBefores = new Float64Array(INITIAL_SLOTS);
      this.leaseUntils = new Float64Array(INITIAL_SLOTS);
      this.leasedPositions = new Float64Array(INITIAL_SLOTS);
      this.states = new Uint8Array(INITIAL_SLOTS);
    }
  }
}
