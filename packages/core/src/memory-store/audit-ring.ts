import { recordIdOf } from '../model/usage-key.js';
import type { AuditEntry } from '../store/usage-store.js';

/**
 * The last `capacity` accepted records, as columns in a ring. An entry object per accepted record, kept for the next
 * ten thousand records, would outlive a young-generation collection and be promoted, only to die soon after: sending a
 * million records would promote a million of them. The record id is not kept: it is a pure function of key and hour.
 */
export class AuditRing {
  private readonly keyIds: (string | undefined)[];
  private readonly hourStarts: Float64Array;
  private readonly quantities: Float64Array;
  private readonly acceptedAts: Float64Array;
  private readonly meteringRecordIds: (string | undefined)[];
  /** Where the next entry goes. */
  private next = 0;
  private count = 0;

  readonly capacity: number;

  constructor(capacity: number) {
    this.capacity = Math.max(0, Math.trunc(capacity) || 0);
    this.keyIds = new Array<string | undefined>(this.capacity).fill(undefined);
    this.meteringRecordIds = new Array<string | undefined>(this.capacity).fill(undefined);
    this.hourStarts = new Float64Array(this.capacity);
    this.quantities = new Float64Array(this.capacity);
    this.acceptedAts = new Float64Array(this.capacity);
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
    this.keyIds[i] = keyId;
    this.hourStarts[i] = hourStart;
    this.quantities[i] = quantity;
    this.meteringRecordIds[i] = meteringRecordId;
    this.acceptedAts[i] = acceptedAt;
    this.next = (i + 1) % this.capacity;
    if (this.count < this.capacity) this.count += 1;
  }

  /** The most recent `limit` entries, newest last. */
  last(limit: number): AuditEntry[] {
    const count = Math.min(Math.max(Math.trunc(limit) || 0, 0), this.count);
    const entries: AuditEntry[] = [];
    for (let k = count; k > 0; k--) {
      const i = (this.next - k + this.capacity) % this.capacity;
      const keyId = this.keyIds[i] as string;
      const hourStart = this.hourStarts[i] as number;
      entries.push({
        recordId: recordIdOf(keyId, hourStart),
        keyId,
        hourStart,
        quantity: this.quantities[i] as number,
        meteringRecordId: this.meteringRecordIds[i],
        acceptedAt: this.acceptedAts[i] as number,
      });
    }
    return entries;
  }
}
