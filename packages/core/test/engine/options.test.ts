import { type MeteringLogger, type MeteringOptions, systemClock, systemTimers } from '@meterkit/core';
import { assertDimension, meteringOptionKeys } from '@meterkit/core/adapter';
import { configurationErrorOf, InMemorySink } from '@meterkit/core/testing';
import { describe, expect, it } from 'vitest';
import { parseOptions } from '../../src/engine/options.js';

function recordingLogger() {
  const warnings: string[] = [];
  const logger: MeteringLogger = { info() {}, warn: (m) => warnings.push(m), error() {} };
  return { logger, warnings };
}

const base = (): MeteringOptions => ({
  sink: new InMemorySink(),
  productCode: 'prod-abc123',
  logger: recordingLogger().logger,
});

describe('parseOptions', () => {
  it('applies every default when only a sink and a product code are given', () => {
    const o = parseOptions(base());
    expect(o).toMatchObject({
      checkpointMillis: 1_000,
      sealDelayMillis: 120_000,
      dispatchIntervalMillis: 10_000,
      maxCallsPerSecond: 10,
      maxConcurrentExports: 4,
      exportTimeoutMillis: 30_000,
      leaseMillis: 120_000,
      retryBaseMillis: 1_000,
      retryMaxMillis: 300_000,
      failedRetryMillis: 60_000,
      serviceWindowMillis: 86_400_000,
      monthEndCutoffHourUtc: 6,
      warnAgeMillis: 21_600_000,
      maxLiveKeys: 1_000_000,
      onMaxLiveKeys: 'checkpoint',
      shutdownTimeoutMillis: 30_000,
      sliceSize: 1_000,
      scheduling: 'internal',
    });
    expect(o.clock).toBe(systemClock);
    expect(o.timers).toBe(systemTimers);
    expect(o.store.name).toBe('memory');
  });

  it('returns frozen options', () => {
    expect(Object.isFrozen(parseOptions(base()))).toBe(true);
  });

  it('ignores keys whose value is undefined', () => {
    expect(parseOptions({ ...base(), maxLiveKeys: undefined }).maxLiveKeys).toBe(1_000_000);
  });

  it('rejects an unknown key, naming it', () => {
    const error = configurationErrorOf(() =>
      parseOptions({ ...base(), flushIntervalMilis: 5 } as MeteringOptions),
    );
    expect(error.code).toBe('ERR_METERING_UNKNOWN_OPTION');
    expect(error.field).toBe('flushIntervalMilis');
    expect(error.message).toContain('`flushIntervalMilis`');
    expect(error.message).toContain('#error-codes');
  });

  it('lists every engine option key, sink included', () => {
    expect(meteringOptionKeys).toContain('sink');
    expect(meteringOptionKeys).toContain('onMaxLiveKeys');
    expect(meteringOptionKeys).toHaveLength(30);
  });

  it('rejects a missing sink', () => {
    const error = configurationErrorOf(() => parseOptions({} as MeteringOptions));
    expect([error.code, error.field]).toEqual(['ERR_METERING_INVALID_OPTION', 'sink']);
  });

  it('rejects a sink without export()', () => {
    const error = configurationErrorOf(() =>
      parseOptions({
        sink: { name: 'x', maxBatchSize: 25, planBatches: (records: unknown[]) => [records] } as never,
      }),
    );
    expect(error.field).toBe('sink');
  });

  it('rejects a sink without planBatches()', () => {
    const error = configurationErrorOf(() =>
      parseOptions({
        sink: {
          name: 'x',
          maxBatchSize: 25,
          export: async () => ({ status: 'done', outcomes: [] }),
        } as never,
      }),
    );
    expect(error.field).toBe('sink');
  });

  it('rejects a store that is not a UsageStore', () => {
    expect(configurationErrorOf(() => parseOptions({ ...base(), store: {} as never })).field).toBe('store');
  });

  it.each([
    ['checkpointMillis', 5],
    ['checkpointMillis', 60_001],
    ['checkpointMillis', 1.5],
    ['sealDelayMillis', -1],
    ['sealDelayMillis', 3_600_001],
    ['dispatchIntervalMillis', 9],
    ['maxCallsPerSecond', 0],
    ['maxConcurrentExports', 65],
    ['exportTimeoutMillis', 0],
    ['leaseMillis', Number.NaN],
    ['retryBaseMillis', '1000'],
    ['retryMaxMillis', 0],
    ['failedRetryMillis', -5],
    ['serviceWindowMillis', 3_599_999],
    ['monthEndCutoffHourUtc', 24],
    ['warnAgeMillis', -1],
    ['maxLiveKeys', 0],
    ['shutdownTimeoutMillis', Number.POSITIVE_INFINITY],
    ['sliceSize', 0],
    ['onMaxLiveKeys', 'drop'],
    ['scheduling', 'cron'],
    ['productCode', 'has space'],
    ['productCode', ''],
    ['dimensions', []],
    ['dimensions', 'api_calls'],
    ['clock', { now: 1 }],
    ['timers', { setTimeout() {} }],
    ['random', 0.5],
    ['logger', { warn() {}, error() {} }],
  ])('rejects %s = %j, naming the field', (field, value) => {
    const error = configurationErrorOf(() => parseOptions({ ...base(), [field]: value } as MeteringOptions));
    expect(error.code).toBe('ERR_METERING_INVALID_OPTION');
    expect(error.field).toBe(field);
    expect(error.message).toContain(`\`${field}\``);
  });

  it('accepts null for monthEndCutoffHourUtc, disabling the rule', () => {
    expect(parseOptions({ ...base(), monthEndCutoffHourUtc: null }).monthEndCutoffHourUtc).toBeNull();
  });

  it('throws when leaseMillis and exportTimeoutMillis are both explicit and contradictory', () => {
    const error = configurationErrorOf(() =>
      parseOptions({ ...base(), leaseMillis: 10_000, exportTimeoutMillis: 10_000 }),
    );
    expect(error.code).toBe('ERR_METERING_CONFLICTING_OPTIONS');
    expect(error.field).toBe('leaseMillis');
  });

  it('throws when retryMaxMillis is below retryBaseMillis', () => {
    const error = configurationErrorOf(() =>
      parseOptions({ ...base(), retryBaseMillis: 5_000, retryMaxMillis: 4_000 }),
    );
    expect([error.code, error.field]).toEqual(['ERR_METERING_CONFLICTING_OPTIONS', 'retryMaxMillis']);
  });

  it('raises the default lease above an explicit export timeout and logs it', () => {
    const { logger, warnings } = recordingLogger();
    const o = parseOptions({ ...base(), logger, exportTimeoutMillis: 150_000 });
    expect(o.leaseMillis).toBe(300_000);
    expect(warnings).toEqual([expect.stringContaining('leaseMillis raised to 300000')]);
  });

  it('lowers the default export timeout below an explicit lease and logs it', () => {
    const { logger, warnings } = recordingLogger();
    const o = parseOptions({ ...base(), logger, leaseMillis: 20_000 });
    expect([o.leaseMillis, o.exportTimeoutMillis]).toEqual([20_000, 10_000]);
    expect(warnings).toEqual([expect.stringContaining('exportTimeoutMillis lowered to 10000')]);
  });

  it('raises the default retryMaxMillis to an explicit larger retryBaseMillis and logs it', () => {
    const { logger, warnings } = recordingLogger();
    const o = parseOptions({ ...base(), logger, retryBaseMillis: 600_000 });
    expect([o.retryBaseMillis, o.retryMaxMillis]).toEqual([600_000, 600_000]);
    expect(warnings).toEqual([expect.stringContaining('retryMaxMillis raised to 600000')]);
  });

  it('lowers the default retryBaseMillis to an explicit smaller retryMaxMillis and logs it', () => {
    const { logger, warnings } = recordingLogger();
    const o = parseOptions({ ...base(), logger, retryMaxMillis: 500 });
    expect([o.retryBaseMillis, o.retryMaxMillis]).toEqual([500, 500]);
    expect(warnings).toEqual([expect.stringContaining('retryBaseMillis lowered to 500')]);
  });

  it('links conflict messages to the error-code docs', () => {
    const error = configurationErrorOf(() =>
      parseOptions({ ...base(), retryBaseMillis: 5_000, retryMaxMillis: 4_000 }),
    );
    expect(error.message).toContain('#error-codes');
  });

  it('rejects a declared dimension that breaks the service rules, naming its index', () => {
    const error = configurationErrorOf(() =>
      parseOptions({ ...base(), dimensions: ['api_calls', 'x'.repeat(256)] }),
    );
    expect(error.code).toBe('ERR_METERING_INVALID_DIMENSION');
    expect(error.field).toBe('Option `dimensions[1]`');
  });

  it('freezes the declared dimensions', () => {
    const o = parseOptions({ ...base(), dimensions: ['api_calls'] });
    expect(o.dimensions).toEqual(['api_calls']);
    expect(Object.isFrozen(o.dimensions)).toBe(true);
  });
});

describe('assertDimension', () => {
  it('returns a valid dimension', () => {
    expect(assertDimension('here', 'api_calls', undefined)).toBe('api_calls');
  });

  it.each([[''], ['x'.repeat(256)], [42], [undefined]])(
    'rejects %j against the service rules',
    (dimension) => {
      const error = configurationErrorOf(() =>
        assertDimension('BillingController.export', dimension, undefined),
      );
      expect(error.code).toBe('ERR_METERING_INVALID_DIMENSION');
      expect(error.field).toBe('BillingController.export');
      expect(error.message).toContain('BillingController.export');
    },
  );

  it('rejects a dimension that is not declared, case-sensitively', () => {
    const error = configurationErrorOf(() => assertDimension('meter(api)', 'API_CALLS', ['api_calls']));
    expect(error.code).toBe('ERR_METERING_UNDECLARED_DIMENSION');
    expect(error.message).toContain('"api_calls"');
  });
});
