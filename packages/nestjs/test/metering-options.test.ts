// resolveMeteringOptions(): the module's options resolved and validated once, with the engine's typed errors.
import { type CustomerRef, MeteringConfigurationError } from '@meterkit/core';
import { isServedStatus } from '@meterkit/core/http';
import { InMemorySink } from '@meterkit/core/testing';
import type { ExecutionContext } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import { type MeteringModuleOptions, resolveMeteringOptions } from '../src/metering-options.js';

const ACME: CustomerRef = { customerIdentifier: 'cust-acme-0001' };
const base = { productCode: 'prod-meterkit-unit', customer: () => ACME };

function failure(options: unknown): MeteringConfigurationError {
  try {
    resolveMeteringOptions(options as MeteringModuleOptions);
  } catch (error) {
    if (error instanceof MeteringConfigurationError) return error;
    throw error;
  }
  throw new Error('the options were accepted');
}

describe('resolveMeteringOptions()', () => {
  it("applies the adapter's defaults and leaves the job schedules to the engine's intervals", () => {
    const resolved = resolveMeteringOptions(base);
    expect(resolved.successStatus).toBe(isServedStatus);
    expect(resolved.onMissingCustomer).toBe('skip');
    expect(resolved.schedule).toEqual({ checkpoint: undefined, dispatch: undefined });
    expect(resolved.scheduling).toBe('external');
  });

  it('hands the engine its share only, scheduled externally unless told otherwise', () => {
    const sink = new InMemorySink();
    const resolved = resolveMeteringOptions({ ...base, sink, checkpointMillis: 500, storePath: 'x.sqlite' });
    expect(resolved.engine).toEqual({
      productCode: 'prod-meterkit-unit',
      sink,
      checkpointMillis: 500,
      scheduling: 'external',
    });
    expect(resolved.storePath).toBe('x.sqlite');
    expect(resolveMeteringOptions({ ...base, scheduling: 'internal' }).engine.scheduling).toBe('internal');
  });

  it('keeps the schedules given as intervals or cron expressions', () => {
    const resolved = resolveMeteringOptions({
      ...base,
      schedule: { checkpoint: 250, dispatch: '*/5 * * * * *' },
    });
    expect(resolved.schedule).toEqual({ checkpoint: 250, dispatch: '*/5 * * * * *' });
  });

  it('refuses an unknown key with ERR_METERING_UNKNOWN_OPTION', () => {
    const error = failure({ ...base, custmer: () => ACME });
    expect([error.code, error.field]).toEqual(['ERR_METERING_UNKNOWN_OPTION', 'custmer']);
  });

  it('refuses a bad value with ERR_METERING_INVALID_OPTION naming the field', () => {
    const cases: [unknown, string][] = [
      [{ productCode: 'p' }, 'customer'],
      [{ ...base, successStatus: 200 }, 'successStatus'],
      [{ ...base, onMissingCustomer: 404 }, 'onMissingCustomer'],
      [{ ...base, schedule: 5 }, 'schedule'],
      [{ ...base, schedule: { checkpoint: 5 } }, 'schedule.checkpoint'],
      [{ ...base, schedule: { dispatch: 'soon' } }, 'schedule.dispatch'],
      [null, 'options'],
    ];
    for (const [options, field] of cases) {
      const error = failure(options);
      expect([error.code, error.field]).toEqual(['ERR_METERING_INVALID_OPTION', field]);
    }
  });

  it("bills every request to a sink's implicit customer, and refuses a resolver next to it", () => {
    const sink = Object.assign(new InMemorySink(), { implicitCustomer: ACME });
    const resolved = resolveMeteringOptions({ productCode: 'p', sink });
    expect(resolved.customer({} as ExecutionContext)).toBe(ACME);
    const error = failure({ productCode: 'p', sink, customer: () => ACME });
    expect([error.code, error.field]).toEqual(['ERR_METERING_CONFLICTING_OPTIONS', 'customer']);
  });
});
