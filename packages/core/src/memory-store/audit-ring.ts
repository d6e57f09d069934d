/** The memory store's audit log: the last accepted records, kept as columns in a ring. */
import { recordIdOf } from '../model/usage-key.js';
import type { AuditEntry } from '../store/usage-store.js';
import { PagedArray } from './paged-array.js';

/**
 * The last `capacity` accepted records, as columns in a ring. An entry object per accepted record, kept for the next
 * ten thousand records, would outlive a young-generation collection and be promoted, only to die soon after: sending a
 * million records would promote a million of them. The record id is not kept: it is a pure function of key and hour.
 * The columns grow a page at a time as entries come, up to `capacity`: a store that accepts little holds little.
 */
export class AuditRing {
  private readonly keyIds = PagedArray.values<string>();
  private readonly hourStarts = PagedArray.float64();
  private readonly quantities = PagedArray.float64();
  private readonly acceptedAts = PagedArray.float64();
  private readonly meteringRecordIds = PagedArray.values<string>();
  /** Where the next entry goes. */
  private next = 0;
  private count = 0;

  readonly capacity: number;

  constructor(capacity: number) {
    this.capacity = Math.max(0, Math.trunc(capacity) || 0);
  }

  push(
    keyId: string,
    hourStart: number,
    quantity: number,
    meteringRecordId: string | undefined,
    acceptedAt: number,
  ): void {
    if (this.capacity === 0) return;
    const i = this.next;
    this.keyIds.set(i, keyId);
    this.hourStarts.set(i, hourStart);
    this.quantities.set(i, quantity);
    this.meteringRecordIds.set(i, meteringRecordId);
    this.acceptedAts.set(i, acceptedAt);
    this.next = (i + 1) % this.capacity;
    if (this.count < this.capacity) this.count += 1;
  }

  /** The most recent `limit` entries, newest last. */
  last(limit: number): AuditEntry[] {
    const count = Math.min(Math.max(Math.trunc(limit) || 0, 0), this.count);
    const entries: AuditEntry[] = [];
    for (let k = count; k > 0; k--) {
      const i = (this.next - k + this.capacity) % this.capacity;
      // Every one of the last `count` entries has a key id; the check only narrows the type.
      const keyId = this.keyIds.get(i);
      if (keyId === undefined) continue;
      const hourStart = this.hourStarts.get(i);
      entries.push({
        recordId: recordIdOf(keyId, hourStart),
        keyId,
        hourStart,
        quantity: this.quantities.get(i),
        meteringRecordId: this.meteringRecordIds.get(i),
        acceptedAt: this.acceptedAts.get(i),
      });
    }
    return entries;
  }
}
