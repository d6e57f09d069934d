import { HOUR_MILLIS, MemoryRegistry, type RegisteredCustomer } from '@meterkit/core';
import { describe, expect, it } from 'vitest';
import { alice, billed, bob, carol, PRODUCT, setup } from '../helpers.js';

const SEAL_DELAY = 120_000;
const H10 = Date.UTC(2026, 10, 26, 10);
const H11 = H10 + HOUR_MILLIS;
const H12 = H11 + HOUR_MILLIS;

/** A registry where alice subscribed at `subscribedAt`, bob only registered, and carol is unsubscribe-pending. */
async function registryWith(subscribedAt: number): Promise<MemoryRegistry> {
  const registry = new MemoryRegistry();
  for (const customer of [alice, bob, carol]) {
    await registry.register({ customer, productCode: PRODUCT, at: subscribedAt - 60_000 });
  }
  await registry.setState(alice, { state: 'subscribed', at: subscribedAt, source: 'sns' });
  await registry.setState(carol, { state: 'subscribed', at: subscribedAt, source: 'sns' });
  await registry.setState(carol, { state: 'unsubscribe-pending', at: subscribedAt + 1, source: 'sns' });
  return registry;
}

describe('zero-usage heartbeats', () => {
  it('bills a 0 per subscribed customer and declared dimension for a closed hour without usage', async () => {
    // Prepare
    const registry = await registryWith(H10);
    const { clock, sink, engine } = setup({ registry, dimensions: ['api_calls', 'storage_gb'] });
    await engine.start();
    // Act
    await clock.advance(HOUR_MILLIS + SEAL_DELAY);
    // Assess
    const records = [...sink.ledger.values()].map((b) => [
      b.record.key.customerIdentifier,
      b.record.key.dimension,
    ]);
    expect(records.sort()).toEqual([
      ['cust-alice', 'api_calls'],
      ['cust-alice', 'storage_gb'],
      ['cust-carol', 'api_calls'],
      ['cust-carol', 'storage_gb'],
    ]);
    expect(
      [...sink.ledger.values()].every((b) => b.record.quantity === 0 && b.record.hourStart === H10),
    ).toBe(true);
    await engine.shutdown();
  });

  it('sends the usage, not a 0, for a customer and dimension that used something', async () => {
    // Prepare
    const registry = await registryWith(H10);
    const { clock, sink, engine } = setup({ registry, dimensions: ['api_calls'] });
    await engine.start();
    // Act
    engine.record(alice, 'api_calls', 7);
    await clock.advance(HOUR_MILLIS + SEAL_DELAY);
    // Assess
    expect(billed(sink)).toEqual([
      ['cust-alice', H10, 7],
      ['cust-carol', H10, 0],
    ]);
    expect(
      sink.calls.flatMap((c) => c.records).filter((r) => r.key.customerIdentifier === 'cust-alice'),
    ).toHaveLength(1);
    await engine.shutdown();
  });

  it('sends no heartbeat for a customer who is only registered, or for an hour before their subscribe-success', async () => {
    // Prepare: alice and carol subscribe at 10:30, so 10:00 is before it and 11:00 is the first hour after.
    const registry = await registryWith(H10 + 30 * 60_000);
    const { clock, sink, engine } = setup({ registry, dimensions: ['api_calls'] });
    await engine.start();
    // Act
    await clock.advance(2 * HOUR_MILLIS + SEAL_DELAY);
    // Assess
    expect(billed(sink)).toEqual([
      ['cust-alice', H11, 0],
      ['cust-carol', H11, 0],
    ]);
    await engine.shutdown();
  });

  it('stops once a customer is unsubscribed', async () => {
    // Prepare
    const registry = await registryWith(H10);
    const { clock, sink, engine } = setup({ registry, dimensions: ['api_calls'] });
    await engine.start();
    await clock.advance(HOUR_MILLIS + SEAL_DELAY);
    // Act
    await registry.setState(carol, { state: 'unsubscribed', at: clock.now(), source: 'sns' });
    await clock.advance(HOUR_MILLIS);
    // Assess
    expect(billed(sink)).toEqual([
      ['cust-alice', H10, 0],
      ['cust-alice', H11, 0],
      ['cust-carol', H10, 0],
    ]);
    await engine.shutdown();
  });

  it('is off with `heartbeats: false`', async () => {
    // Prepare
    const registry = await registryWith(H10);
    const { clock, sink, engine } = setup({ registry, dimensions: ['api_calls'], heartbeats: false });
    await engine.start();
    // Act
    await clock.advance(HOUR_MILLIS + SEAL_DELAY);
    // Assess
    expect(sink.calls).toHaveLength(0);
    await engine.shutdown();
  });

  it('seals and bills usage when the registry fails, and reports the failure', async () => {
    // Prepare
    const registry = await registryWith(H10);
    const { clock, sink, engine } = setup({ registry, dimensions: ['api_calls'] });
    const errors: string[] = [];
    engine.events.on('engine.error', (e) => errors.push(e.operation));
    await engine.start();
    // The registry goes down after the start (a failing start is refused: see subscription-restore.test.ts).
    registry.list = async (): Promise<RegisteredCustomer[]> => {
      throw new Error('registry down');
    };
    // Act
    engine.record(alice, 'api_calls', 2);
    await clock.advance(HOUR_MILLIS + SEAL_DELAY);
    // Assess
    expect(billed(sink)).toEqual([['cust-alice', H10, 2]]);
    expect(errors).toContain('heartbeats');
    await engine.shutdown();
  });

  it('does not heartbeat the open hour a memory-store shutdown seals', async () => {
    // Prepare
    const registry = await registryWith(H10);
    const { clock, sink, engine } = setup({ registry, dimensions: ['api_calls'] });
    await engine.start();
    await clock.advance(HOUR_MILLIS + SEAL_DELAY);
    // Act
    await engine.shutdown();
    // Assess
    expect(billed(sink).filter(([, hour]) => hour === H11)).toEqual([]);
    expect(billed(sink).filter(([, hour]) => hour === H12)).toEqual([]);
  });
});

describe('heartbeat options', () => {
  it('refuses `heartbeats: true` without a registry', () => {
    expect(() => setup({ heartbeats: true, dimensions: ['api_calls'] })).toThrow(/heartbeats/);
  });

  it('refuses `heartbeats: true` without declared dimensions', () => {
    expect(() => setup({ heartbeats: true, registry: new MemoryRegistry() })).toThrow(/dimensions/);
  });

  it('turns heartbeats off by default when no dimensions are declared', async () => {
    const { engine } = setup({ registry: new MemoryRegistry() });
    expect(engine.options.heartbeats).toBe(false);
  });
});
