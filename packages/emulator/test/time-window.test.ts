import { describe, expect, it } from 'vitest';
import { floorHour, timestampProblem } from '../src/time-window.js';

const HOUR = 3_600_000;
const SKEW = 5 * 60_000;
const DAY = 24 * HOUR;

describe('timestampProblem', () => {
  const now = Date.UTC(2026, 2, 15, 12, 0);

  it('accepts a record just inside the 24 h window', () => {
    expect(timestampProblem(now - DAY + 1, now, DAY, SKEW)).toBeUndefined();
  });

  it('refuses a record exactly 24 h old', () => {
    expect(timestampProblem(now - DAY, now, DAY, SKEW)).toMatch(/24 h or more/);
  });

  it('accepts a timestamp at the future-skew limit', () => {
    expect(timestampProblem(now + SKEW, now, DAY, SKEW)).toBeUndefined();
  });

  it('refuses a timestamp just beyond the future-skew limit', () => {
    expect(timestampProblem(now + SKEW + 1, now, DAY, SKEW)).toMatch(/future/);
  });

  it('accepts previous-month records before 06:00 UTC on the 1st', () => {
    const april1At0500 = Date.UTC(2026, 3, 1, 5, 0);
    expect(timestampProblem(Date.UTC(2026, 2, 31, 22, 0), april1At0500, DAY, SKEW)).toBeUndefined();
  });

  it('refuses previous-month records from 06:00 UTC on the 1st, even inside 24 h', () => {
    const april1At0600 = Date.UTC(2026, 3, 1, 6, 0);
    expect(timestampProblem(Date.UTC(2026, 2, 31, 22, 0), april1At0600, DAY, SKEW)).toMatch(/previous month/);
  });

  it('refuses a 6 h old record under the 6 h window', () => {
    expect(timestampProblem(now - 6 * HOUR, now, 6 * HOUR, SKEW)).toMatch(/6 h/);
  });
});

describe('floorHour', () => {
  it('rounds down to the start of the UTC hour', () => {
    expect(floorHour(Date.UTC(2026, 2, 15, 12, 59, 59, 999))).toBe(Date.UTC(2026, 2, 15, 12));
  });
});
