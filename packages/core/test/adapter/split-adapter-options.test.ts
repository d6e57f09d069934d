import { MeteringConfigurationError } from '@meterkit/core';
import { splitAdapterOptions } from '@meterkit/core/adapter';
import { describe, expect, it } from 'vitest';

const unknown = (key: string, known: readonly string[]) => `unknown ${key} (${known.length} known)`;

describe('splitAdapterOptions', () => {
  it("puts the adapter's keys on one side and the engine's on the other, leaving out undefined values", () => {
    const split = splitAdapterOptions(
      { customer: 'c', productCode: 'prod-1', checkpointMillis: undefined },
      { customer: true },
      unknown,
    );
    expect(split).toEqual({ adapter: { customer: 'c' }, engine: { productCode: 'prod-1' } });
  });

  it('refuses a key neither side knows, naming it', () => {
    const attempt = () => splitAdapterOptions({ custmer: 'c' }, { customer: true }, unknown);
    expect(attempt).toThrow(MeteringConfigurationError);
    expect(attempt).toThrow(/unknown custmer/);
  });
});
