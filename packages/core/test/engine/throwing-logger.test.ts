// A logger or listener that throws never reaches the request path or turns a background failure into a rejection.
import { MemoryStore, type MeteringLogger, MeteringStoreError } from '@meterkit/core';
import { describe, expect, it } from 'vitest';
import { alice, setup } from '../helpers.js';

const throwing = () => {
  throw new Error('the logger is broken');
};
const brokenLogger: MeteringLogger = { info: throwing, warn: throwing, error: throwing };

class DownStore extends MemoryStore {
  override async addDeltas(): Promise<void> {
    throw new MeteringStoreError('ERR_METERING_STORE', 'connection refused');
  }
}

describe('a throwing logger or listener', () => {
  it('never makes record() throw when a refusal is logged', () => {
    const ctx = setup({ logger: brokenLogger });
    ctx.engine.events.on('usage.rejected', () => {
      throw new Error('listener broken');
    });
    expect(ctx.engine.record(alice, 'api_calls', -1)).toBe(false);
  });

  it('never makes tick() reject when a store failure is reported', async () => {
    const ctx = setup({ logger: brokenLogger, store: new DownStore(), scheduling: 'external' });
    ctx.engine.events.on('engine.error', () => {
      throw new Error('listener broken');
    });
    await ctx.engine.start();
    ctx.engine.record(alice, 'api_calls');
    await expect(ctx.clock.run(ctx.engine.tick())).resolves.toBeUndefined();
  });

  it('still reports the failure as an engine.error event', async () => {
    const ctx = setup({ logger: brokenLogger, store: new DownStore(), scheduling: 'external' });
    const operations: string[] = [];
    ctx.engine.events.on('engine.error', (e) => operations.push(e.operation));
    await ctx.engine.start();
    ctx.engine.record(alice, 'api_calls');
    await ctx.clock.run(ctx.engine.tick());
    expect(operations).toContain('checkpoint');
  });
});
