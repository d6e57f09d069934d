import { MemoryStore } from '@meterkit/core';
import { type UsageDelta } from '@meterkit/core/store';
import { describe, expect, it } from 'vitest';
import { PRODUCT, setup } from '../helpers.js';

const SLICE = 2;
const customers = ['a', 'b', 'c', 'd', 'e'].map((c) => ({
  customerIdentifier: `cust-${c}`,
  productCode: PRODUCT,
}));

/** A memory store that can refuse writes and notes how many deltas the engine still held unwritten at each write. */
class WatchedStore extends MemoryStore {
  failures = 0;
  readonly unwrittenAtWrite: number[] = [];
  unwritten: () => Promise<number> = async () => 0;
  override async addDeltas(deltas: readonly UsageDelta[]): Promise<void> {
    this.unwrittenAtWrite.push(await this.unwritten());
    if (this.failures > 0) {
      this.failures -= 1;
      throw new Error('store unavailable');
    }
    return super.addDeltas(deltas);
  }
}

function engineWith(store: WatchedStore) {
  const { engine } = setup({ store, sliceSize: SLICE });
  store.unwritten = async () => (await engine.stats()).unwrittenDeltas;
  for (const customer of customers) engine.record(customer, 'api_calls', 3);
  return engine;
}

describe('checkpoint slices', () => {
  it('writes each drained slice to the store before draining the next', async () => {
    const store = new WatchedStore();
    await engineWith(store).checkpoint();
    expect(Math.max(...store.unwrittenAtWrite)).toBeLessThanOrEqual(SLICE);
  });

  it('writes a slice the store refused while draining once the drain is done', async () => {
    const store = new WatchedStore();
    store.failures = 1;
    expect(await engineWith(store).checkpoint()).toBe(3 * customers.length);
    expect((await store.stats()).openUnits).toBe(3 * customers.length);
  });

  it('keeps every slice queued while the store refuses, and writes them all once it accepts', async () => {
    const store = new WatchedStore();
    store.failures = Number.POSITIVE_INFINITY;
    const engine = engineWith(store);
    await expect(engine.checkpoint()).rejects.toThrow('store unavailable');
    expect((await engine.stats()).unwrittenDeltas).toBe(customers.length);
    store.failures = 0;
    expect(await engine.checkpoint()).toBe(3 * customers.length);
    expect((await store.stats()).openUnits).toBe(3 * customers.length);
  });
});
