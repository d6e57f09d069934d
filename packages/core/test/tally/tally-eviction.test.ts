import { describe, expect, it } from 'vitest';
import { alice, bob, setup } from '../helpers.js';

describe('live keys', () => {
  it('keeps an idle key live across checkpoints, so its next request takes the fast path', async () => {
    const ctx = setup();
    ctx.engine.record(alice, 'api_calls');
    for (let i = 0; i < 10; i++) await ctx.engine.checkpoint();
    expect((await ctx.engine.stats()).liveKeys).toBe(1);
  });

  it('evicts a key after a minute of idle checkpoints', async () => {
    const ctx = setup();
    ctx.engine.record(alice, 'api_calls');
    for (let i = 0; i < 61; i++) await ctx.engine.checkpoint();
    expect((await ctx.engine.stats()).liveKeys).toBe(0);
  });

  it('evicts idle keys at the next checkpoint when the tally is nearly full', async () => {
    const ctx = setup({ maxLiveKeys: 2, onMaxLiveKeys: 'reject' });
    ctx.engine.record(alice, 'api_calls');
    ctx.engine.record(bob, 'api_calls');
    await ctx.engine.checkpoint();
    await ctx.engine.checkpoint();
    expect((await ctx.engine.stats()).liveKeys).toBe(0);
  });

  it('starts every hour with no live keys', async () => {
    const ctx = setup();
    await ctx.engine.start();
    ctx.engine.record(alice, 'api_calls');
    await ctx.clock.advance(3_600_000);
    expect((await ctx.engine.stats()).liveKeys).toBe(0);
    await ctx.clock.run(ctx.engine.shutdown());
  });
});
