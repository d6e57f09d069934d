import { HOUR_MILLIS } from '@meterkit/core';
import { InMemorySink } from '@meterkit/core/testing';
import { describe, expect, it } from 'vitest';
import { parseOptions } from '../../src/engine/options.js';
import { silentLogger } from '../../src/logging/logger.js';

/** A sink whose service allows 6 h, backs off up to 30 min and has no month-end rule (as MeterUsage). */
function sinkWithRules() {
  return Object.assign(new InMemorySink(), {
    optionDefaults: {
      serviceWindowMillis: 6 * HOUR_MILLIS,
      retryMaxMillis: 1_800_000,
      monthEndCutoffHourUtc: null,
    },
  });
}

describe('sink option defaults', () => {
  it("replace the engine's defaults for options left unset", () => {
    const o = parseOptions({ sink: sinkWithRules(), productCode: 'prod-abc123', logger: silentLogger });
    expect([o.serviceWindowMillis, o.retryMaxMillis, o.monthEndCutoffHourUtc]).toEqual([
      6 * HOUR_MILLIS,
      1_800_000,
      null,
    ]);
  });

  it('never override a value that is given', () => {
    const o = parseOptions({
      sink: sinkWithRules(),
      productCode: 'prod-abc123',
      logger: silentLogger,
      serviceWindowMillis: 2 * HOUR_MILLIS,
      retryMaxMillis: 60_000,
      monthEndCutoffHourUtc: 5,
    });
    expect([o.serviceWindowMillis, o.retryMaxMillis, o.monthEndCutoffHourUtc]).toEqual([
      2 * HOUR_MILLIS,
      60_000,
      5,
    ]);
  });

  it('leave the engine defaults alone for a sink without rules', () => {
    const o = parseOptions({ sink: new InMemorySink(), productCode: 'prod-abc123', logger: silentLogger });
    expect([o.serviceWindowMillis, o.retryMaxMillis, o.monthEndCutoffHourUtc]).toEqual([
      24 * HOUR_MILLIS,
      300_000,
      6,
    ]);
  });
});
