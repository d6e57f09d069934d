import { silentLogger } from '@meterkit/core';
import { configurationErrorOf, InMemorySink, ManualClock } from '@meterkit/core/testing';
import { describe, expect, it } from 'vitest';
import { createMetering, type ExpressMeteringOptions } from '../src/index.js';

const base = (): ExpressMeteringOptions => {
  const clock = new ManualClock();
  return {
    sink: new InMemorySink(),
    clock,
    timers: clock,
    logger: silentLogger,
    productCode: 'prod-abc',
    customer: () => undefined,
    store: 'memory',
  };
};

describe('createMetering', () => {
  it('rejects an unknown option, naming it', () => {
    const error = configurationErrorOf(() =>
      createMetering({ ...base(), successStatuses: () => true } as never),
    );
    expect(error.code).toBe('ERR_METERING_UNKNOWN_OPTION');
    expect(error.field).toBe('successStatuses');
  });

  it('requires a customer resolver', () => {
    const { customer: _, ...rest } = base();
    const error = configurationErrorOf(() => createMetering(rest as ExpressMeteringOptions));
    expect([error.code, error.field]).toEqual(['ERR_METERING_INVALID_OPTION', 'customer']);
  });

  it('rejects an onMissingCustomer other than skip, 401 or 403', () => {
    const error = configurationErrorOf(() => createMetering({ ...base(), onMissingCustomer: 404 as never }));
    expect(error.field).toBe('onMissingCustomer');
  });

  it('passes engine options to the engine, which checks them', () => {
    const error = configurationErrorOf(() => createMetering({ ...base(), checkpointMillis: 1 }));
    expect([error.code, error.field]).toEqual(['ERR_METERING_INVALID_OPTION', 'checkpointMillis']);
  });

  it('uses the AWS Marketplace sink when none is given, loaded before the engine starts', async () => {
    const { sink: _, ...rest } = base();
    const metering = createMetering({ ...rest, autoStart: false });
    expect(metering.engine.options.sink.name).toBe('aws-marketplace');
    await metering.start();
    expect((await metering.stats()).state).toBe('running');
    await metering.shutdown();
  });

  it('starts the engine unless autoStart is false', async () => {
    const started = createMetering(base());
    await started.start();
    expect((await started.stats()).state).toBe('running');
    const idle = createMetering({ ...base(), autoStart: false });
    expect((await idle.stats()).state).toBe('created');
    await Promise.all([started.shutdown(), idle.shutdown()]);
  });

  it('returns the first report from every later shutdown call', async () => {
    const metering = createMetering(base());
    const first = metering.shutdown();
    expect(metering.shutdown()).toBe(first);
    await first;
  });
});
