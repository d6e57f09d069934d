import { createHash } from 'node:crypto';
import { formatHour, HOUR_MILLIS } from '@meterkit/core';
import { keyIdOf, recordIdOf } from '@meterkit/core/store';
import { describe, expect, it } from 'vitest';

const H10 = Date.UTC(2026, 10, 26, 10);

describe('record ids', () => {
  // Stores persist these ids and the Redis store's script builds them itself: the format must never change.
  it('is the hour, a tilde and the first 22 characters of the base64url SHA-256 of the key id', () => {
    const keyId = keyIdOf({
      productCode: 'prod-abc123',
      dimension: 'api_calls',
      customerIdentifier: 'cust-1',
    });
    const digest = createHash('sha256').update(keyId).digest('base64url').slice(0, 22);
    expect(recordIdOf(keyId, H10)).toBe(`2026-11-26T10:00Z~${digest}`);
  });

  it('formats each hour right when hours alternate', () => {
    expect(formatHour(H10)).toBe('2026-11-26T10:00Z');
    expect(formatHour(H10 + HOUR_MILLIS)).toBe('2026-11-26T11:00Z');
    expect(formatHour(H10)).toBe('2026-11-26T10:00Z');
  });
});
