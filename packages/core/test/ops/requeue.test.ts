import { type DeadLetter, HOUR_MILLIS } from '@meterkit/core';
import { planRequeue, toCsv, windowClosesAt } from '@meterkit/core/ops';
import { keyIdOf, sealRecord } from '@meterkit/core/store';
import { describe, expect, it } from 'vitest';
import { PRODUCT } from '../helpers.js';

const WINDOW = { serviceWindowMillis: 24 * HOUR_MILLIS, monthEndCutoffHourUtc: 6 };
const keyId = keyIdOf({ productCode: PRODUCT, dimension: 'api_calls', customerIdentifier: 'cust-alice' });

function letter(hourStart: number, reason: DeadLetter['reason'] = 'customer-not-subscribed'): DeadLetter {
  return {
    record: sealRecord(keyId, hourStart, 3),
    reason,
    detail: 'CustomerNotSubscribed',
    at: hourStart,
    attempts: 1,
  };
}

describe('planRequeue', () => {
  const now = Date.UTC(2026, 10, 26, 12, 30);

  it('replays a dead letter the service window still accepts', () => {
    const plan = planRequeue([letter(Date.UTC(2026, 10, 26, 10))], now, WINDOW);
    expect(plan.replayable).toHaveLength(1);
    expect(plan.refused).toEqual([]);
  });

  it('refuses a record whose window closes within the margin, saying when it closes', () => {
    // 2026-11-25T13:00Z closes at 2026-11-26T13:00Z: 30 min after now, inside a 1 h margin.
    const plan = planRequeue([letter(Date.UTC(2026, 10, 25, 13))], now, {
      ...WINDOW,
      minWindowLeftMillis: HOUR_MILLIS,
    });
    expect(plan.replayable).toEqual([]);
    expect(plan.refused[0]?.why).toBe(
      'the service window for 2026-11-25T13:00Z closes at 2026-11-26T13:00:00.000Z, too soon to send it',
    );
  });

  it('refuses a record past the month-end cut-off even inside the rolling 24 h', () => {
    const december = Date.UTC(2026, 11, 1, 7);
    const plan = planRequeue([letter(Date.UTC(2026, 10, 30, 23))], december, WINDOW);
    expect(plan.refused[0]?.why).toContain('closed at 2026-12-01T06:00:00.000Z');
    expect(windowClosesAt(Date.UTC(2026, 10, 30, 23), { ...WINDOW, monthEndCutoffHourUtc: null })).toBe(
      Date.UTC(2026, 11, 1, 23),
    );
  });

  it('never replays a record the service refused as too old, nor one the audit log shows billed', () => {
    const tooOld = letter(Date.UTC(2026, 10, 26, 10), 'too-old');
    const billed = letter(Date.UTC(2026, 10, 26, 11));
    const plan = planRequeue([tooOld, billed], now, { ...WINDOW, billedIds: new Set([billed.record.id]) });
    expect(plan.replayable).toEqual([]);
    expect(plan.refused.map((r) => r.why)).toEqual([
      'the service refused it as too old; it cannot be billed any more',
      'this key and hour is already billed (it is in the audit log)',
    ]);
  });
});

describe('toCsv', () => {
  it('quotes fields holding commas, quotes or line breaks (RFC 4180)', () => {
    expect(toCsv([{ a: 'x,y', b: 'say "hi"', c: 'plain' }], ['a', 'b', 'c'])).toBe(
      'a,b,c\r\n"x,y","say ""hi""",plain\r\n',
    );
  });
});
