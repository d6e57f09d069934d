// Tests for the memory store's outbox: order, leases, retries and removal of sealed records held as columns.
import { describe, expect, it } from 'vitest';
import { CompactOutbox } from '../../src/memory-store/compact-outbox.js';
import { keyIdOf, sealRecord } from '../../src/model/usage-key.js';
import { HOUR_MILLIS } from '../../src/time/hours.js';

const H0 = Date.UTC(2026, 10, 26, 10);
const H1 = H0 + HOUR_MILLIS;
const LEASE = 60_000;
const key = (customer: string) =>
  keyIdOf({ productCode: 'prod-1', dimension: 'api_calls', customerIdentifier: customer });

function take(outbox: CompactOutbox, now: number, limit = 100) {
  return outbox.takeDue(now, limit, LEASE);
}

describe('CompactOutbox', () => {
  it('hands out records oldest hour first, then in the order they came in', () => {
    const outbox = new CompactOutbox();
    outbox.add(key('b'), H1, 1, 0);
    outbox.add(key('c'), H0, 2, 0);
    outbox.add(key('a'), H0, 3, 0);
    expect(take(outbox, H1).map((e) => e.record.quantity)).toEqual([2, 3, 1]);
  });

  it('hands out the record sealRecord builds for the same key, hour and quantity', () => {
    const outbox = new CompactOutbox();
    outbox.add(key('a'), H0, 7, 0);
    expect(take(outbox, H1)[0]?.record).toEqual(sealRecord(key('a'), H0, 7));
  });

  it('does not hand out a leased record again before its lease expires', () => {
    const outbox = new CompactOutbox();
    outbox.add(key('a'), H0, 1, 0);
    take(outbox, H1);
    expect(take(outbox, H1 + LEASE - 1)).toEqual([]);
    expect(take(outbox, H1 + LEASE).map((e) => e.attempts)).toEqual([2]);
  });

  it('starts the attempt count from the attempts it was added with', () => {
    const outbox = new CompactOutbox();
    outbox.add(key('a'), H0, 1, 3);
    expect(take(outbox, H1)[0]?.attempts).toBe(4);
  });

  it('treats a claim that was taken over as stale', () => {
    const outbox = new CompactOutbox();
    outbox.add(key('a'), H0, 1, 0);
    const [first] = take(outbox, H1);
    const [second] = take(outbox, H1 + LEASE);
    expect(outbox.leasedSlotOf(first!.record.id, first!.claim)).toBe(-1);
    expect(outbox.leasedRecord(outbox.leasedSlotOf(second!.record.id, second!.claim))).toBe(second!.record);
  });

  it('makes a retried record due again at its notBefore, not earlier', () => {
    const outbox = new CompactOutbox();
    outbox.add(key('a'), H0, 1, 0);
    const [entry] = take(outbox, H1);
    outbox.retry(outbox.leasedSlotOf(entry!.record.id, entry!.claim), H1 + 5_000);
    expect(take(outbox, H1 + 4_999)).toEqual([]);
    expect(take(outbox, H1 + 5_000).map((e) => e.record)).toEqual([entry!.record]);
  });

  it('reuses a removed record slot without disturbing the order of the others', () => {
    const outbox = new CompactOutbox();
    outbox.add(key('a'), H0, 1, 0);
    outbox.add(key('b'), H0, 2, 0);
    const [entry] = take(outbox, H1, 1);
    outbox.remove(outbox.leasedSlotOf(entry!.record.id, entry!.claim));
    outbox.add(key('c'), H0, 3, 0);
    expect(take(outbox, H1).map((e) => e.record.quantity)).toEqual([2, 3]);
  });

  it('counts ready, waiting and leased records', () => {
    const outbox = new CompactOutbox();
    for (const customer of ['a', 'b', 'c']) outbox.add(key(customer), H0, 1, 0);
    const [first, second] = take(outbox, H1, 2);
    outbox.retry(outbox.leasedSlotOf(first!.record.id, first!.claim), H1 + 1_000);
    expect(outbox.counts()).toEqual({ ready: 1, waiting: 1, leased: 1 });
    outbox.remove(outbox.leasedSlotOf(second!.record.id, second!.claim));
    expect(outbox.size).toBe(2);
  });

  it('lists every record it holds, in any state, oldest hour first', () => {
    const outbox = new CompactOutbox();
    outbox.add(key('a'), H1, 1, 0);
    outbox.add(key('b'), H0, 2, 0);
    take(outbox, H1, 1);
    expect(outbox.pending(10)).toEqual([sealRecord(key('b'), H0, 2), sealRecord(key('a'), H1, 1)]);
  });

  it('lists the first few records in the same order as the full listing, whatever their states', () => {
    const outbox = new CompactOutbox();
    for (let n = 0; n < 300; n++)
      outbox.add(key(`c${(n * 37) % 300}`), H0 + ((n * 7) % 5) * HOUR_MILLIS, n, 0);
    take(outbox, H0 + 5 * HOUR_MILLIS, 40);
    const all = outbox.pending(1_000);
    for (const limit of [1, 2, 17, 64]) expect(outbox.pending(limit)).toEqual(all.slice(0, limit));
  });

  it('tells which of some records it holds by key and hour', () => {
    const outbox = new CompactOutbox();
    outbox.add(key('a'), H0, 1, 0);
    const held = sealRecord(key('a'), H0, 99);
    const other = sealRecord(key('a'), H1, 1);
    expect([...outbox.heldAmong([held, other])]).toEqual([held.id]);
  });

  it('treats a claim it did not hand out as stale', () => {
    const outbox = new CompactOutbox();
    outbox.add(key('a'), H0, 1, 0);
    const [entry] = take(outbox, H1);
    expect(outbox.leasedSlotOf(entry!.record.id, 'not-a-claim/0')).toBe(-1);
    expect(outbox.leasedSlotOf(sealRecord(key('b'), H0, 1).id, entry!.claim)).toBe(-1);
  });

  it('lets every expired lease go back to ready, however many there are', () => {
    const outbox = new CompactOutbox();
    for (const customer of ['a', 'b', 'c', 'd']) outbox.add(key(customer), H0, 1, 0);
    take(outbox, H1, 3);
    expect(take(outbox, H1 + LEASE).map((e) => e.record.keyId)).toEqual(['a', 'b', 'c', 'd'].map(key));
  });
});
