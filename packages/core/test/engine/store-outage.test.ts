// While the store refuses writes, unwritten usage is merged by key, hour and tag set, and the log says so once, then in
// summaries.
import { MemoryStore, MeteringStoreError } from '@meterkit/core';
import { type UsageDelta } from '@meterkit/core/store';
import { describe, expect, it } from 'vitest';
import { billed, PRODUCT, recordingLogger, setup } from '../helpers.js';

/** A memory store whose writes fail while `down` is set, as Redis or SQLite do during an outage. */
class FlakyStore extends MemoryStore {
  down = false;
  override async addDeltas(deltas: readonly UsageDelta[]): Promise<void> {
    if (this.down) throw new MeteringStoreError('ERR_METERING_STORE', 'connection refused');
    return super.addDeltas(deltas);
  }
}

const customers = Array.from({ length: 2_000 }, (_, i) => ({
  customerIdentifier: `cust-${i}`,
  productCode: PRODUCT,
}));

/** Two seconds of traffic from 2,000 customers, checkpointing every 10 ms, with the store down. */
async function outage() {
  const store = new FlakyStore();
  const { logger, lines } = recordingLogger();
  const ctx = setup({ store, logger, checkpointMillis: 10 });
  await ctx.engine.start();
  store.down = true;
  for (let tick = 0; tick < 200; tick++) {
    for (const customer of customers) ctx.engine.record(customer, 'api_calls');
    await ctx.clock.advance(10);
  }
  return { ...ctx, store, lines };
}

describe('a store outage', () => {
  it('keeps one unwritten entry per key and hour, however many checkpoints fail', async () => {
    const { engine } = await outage();
    // One entry per key and hour, plus the one batch (a slice of 1,000) kept for an identical resend.
    expect((await engine.stats()).unwrittenDeltas).toBeLessThanOrEqual(3_000);
  });

  it('logs the first failure once and no more within the summary interval', async () => {
    const { lines } = await outage();
    expect(lines.filter((l) => l.level === 'error')).toHaveLength(2); // one per failing task: checkpoint, flush
  });

  it('writes a summary with the count once the interval has passed', async () => {
    const { clock, lines } = await outage();
    await clock.advance(60_000);
    const summaries = lines.filter((l) => /failed \d+ more time\(s\) in the last/.test(l.message));
    expect(summaries.length).toBeGreaterThanOrEqual(1);
  });

  it('says when the store recovers, then writes every unit once', async () => {
    const { clock, engine, store, lines } = await outage();
    store.down = false;
    await clock.advance(20);
    expect(lines.filter((l) => l.level === 'info' && l.message.includes('recovered after'))).not.toHaveLength(
      0,
    );
    const stats = await engine.stats();
    expect(stats.unwrittenDeltas).toBe(0);
    expect(stats.openKeys).toBe(2_000);
    expect(stats.openUnits).toBe(2_000 * 200);
  });

  it('bills tagged usage recorded during an outage under its own tags once the store recovers', async () => {
    const store = new FlakyStore();
    const ctx = setup({ store, checkpointMillis: 10 });
    await ctx.engine.start();
    store.down = true;
    const customer = customers[0] as (typeof customers)[number];
    for (let tick = 0; tick < 50; tick++) {
      ctx.engine.record(customer, 'api_calls', 1);
      ctx.engine.record(customer, 'api_calls', 2, undefined, { project: 'alpha' });
      ctx.engine.record(customer, 'api_calls', 3, undefined, { project: 'beta' });
      await ctx.clock.advance(10);
    }
    // One entry per tag set (untagged, alpha, beta), plus the first slice kept for an identical resend: not 150.
    expect((await ctx.engine.stats()).unwrittenDeltas).toBeLessThanOrEqual(6);
    store.down = false;
    await ctx.clock.advance(20);
    expect((await ctx.engine.stats()).unwrittenDeltas).toBe(0);
    // Past the hour and the seal delay.
    await ctx.clock.advance(3_600_000 + 180_000);
    await ctx.clock.run(ctx.engine.forceFlush());
    const records = [...ctx.sink.ledger.values()].map(({ record }) => record);
    expect(records).toHaveLength(1);
    const allocations = (records[0]?.allocations ?? []).map((a) => [
      a.tags.map((t) => t.value).join(),
      a.quantity,
    ]);
    expect(allocations.sort()).toEqual([
      ['', 50],
      ['alpha', 100],
      ['beta', 150],
    ]);
    expect(records[0]?.quantity).toBe(300);
  });

  it('stops draining the tally once maxLiveKeys entries wait, and loses nothing', async () => {
    const store = new FlakyStore();
    const ctx = setup({ store, scheduling: 'external', maxLiveKeys: 1_000, onMaxLiveKeys: 'reject' });
    await ctx.engine.start();
    store.down = true;
    for (let hour = 0; hour < 3; hour++) {
      for (let i = 0; i < 1_000; i++) ctx.engine.record(customers[i] as never, 'api_calls');
      await ctx.clock.run(ctx.engine.tick());
      await ctx.clock.advance(3_600_000);
    }
    await ctx.clock.run(ctx.engine.tick());
    expect((await ctx.engine.stats()).unwrittenDeltas).toBe(1_000);
    store.down = false;
    await ctx.clock.run(ctx.engine.tick());
    await ctx.clock.run(ctx.engine.tick());
    const stats = await ctx.engine.stats();
    expect(stats.unwrittenDeltas).toBe(0);
    const sent = billed(ctx.sink).reduce((sum, [, , quantity]) => sum + quantity, 0);
    const queued = (await ctx.engine.options.store.pending(10_000)).reduce((sum, r) => sum + r.quantity, 0);
    expect(stats.openUnits + queued + sent).toBe(3_000);
  });
});
