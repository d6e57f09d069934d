// Tests for the audit ring: the last accepted records, newest last, with their record ids.
import { describe, expect, it } from 'vitest';
import { AuditRing } from '../../src/memory-store/audit-ring.js';
import { keyIdOf, recordIdOf } from '../../src/model/usage-key.js';
import { HOUR_MILLIS } from '../../src/time/hours.js';

const H0 = Date.UTC(2026, 10, 26, 10);
const key = (customer: string) =>
  keyIdOf({ productCode: 'prod-1', dimension: 'api_calls', customerIdentifier: customer });

function fill(ring: AuditRing, count: number): void {
  for (let i = 0; i < count; i++) ring.push(key(`c${i}`), H0, i, `m-${i}`, H0 + HOUR_MILLIS + i);
}

describe('AuditRing', () => {
  it('gives back an entry with the record id of its key and hour', () => {
    const ring = new AuditRing(4);
    ring.push(key('a'), H0, 7, 'm-1', H0 + HOUR_MILLIS);
    expect(ring.last(1)).toEqual([
      {
        recordId: recordIdOf(key('a'), H0),
        keyId: key('a'),
        hourStart: H0,
        quantity: 7,
        meteringRecordId: 'm-1',
        acceptedAt: H0 + HOUR_MILLIS,
      },
    ]);
  });

  it('keeps only the last `capacity` entries, newest last', () => {
    const ring = new AuditRing(3);
    fill(ring, 5);
    expect(ring.last(10).map((e) => e.quantity)).toEqual([2, 3, 4]);
  });

  it('returns the most recent `limit` entries when asked for fewer than it holds', () => {
    const ring = new AuditRing(10);
    fill(ring, 5);
    expect(ring.last(2).map((e) => e.quantity)).toEqual([3, 4]);
  });

  it('keeps nothing with a capacity of zero', () => {
    const ring = new AuditRing(0);
    fill(ring, 3);
    expect(ring.last(10)).toEqual([]);
  });
});
