// Every refused record() is logged (first occurrence, then one summary per reason and interval) and counted in stats().
import type { UsageRejectionReason } from '@meterkit/core';
import { describe, expect, it } from 'vitest';
import { alice, recordingLogger, setup } from '../helpers.js';

const refusals: [UsageRejectionReason, (ctx: ReturnType<typeof setup>) => void][] = [
  ['invalid-quantity', (ctx) => ctx.engine.record(alice, 'api_calls', -1)],
  ['invalid-time', (ctx) => ctx.engine.record(alice, 'api_calls', 1, ctx.clock.now() + 3_600_000)],
  ['invalid-customer', (ctx) => ctx.engine.record({ customerIdentifier: '' }, 'api_calls')],
  ['invalid-dimension', (ctx) => ctx.engine.record(alice, '')],
  ['undeclared-dimension', (ctx) => ctx.engine.record(alice, 'gb_stored')],
  [
    'max-live-keys',
    (ctx) => {
      ctx.engine.record(alice, 'api_calls');
      ctx.engine.record({ customerIdentifier: 'cust-other' }, 'api_calls');
    },
  ],
  ['missing-customer', (ctx) => ctx.engine.record(undefined as never, 'api_calls')],
];

describe('refused usage', () => {
  it.each(refusals)('logs %s by default, naming the reason', (reason, refuse) => {
    const { logger, lines } = recordingLogger();
    const ctx = setup({ logger, dimensions: ['api_calls'], maxLiveKeys: 1, onMaxLiveKeys: 'reject' });
    refuse(ctx);
    expect(lines).toEqual([{ level: 'warn', message: expect.stringContaining(`(${reason})`) }]);
  });

  it('counts each reason in stats()', async () => {
    const ctx = setup({ dimensions: ['api_calls'], maxLiveKeys: 1, onMaxLiveKeys: 'reject' });
    for (const [, refuse] of refusals) refuse(ctx);
    ctx.engine.record(alice, 'api_calls', -1);
    const { rejected } = await ctx.engine.stats();
    expect(rejected).toMatchObject({
      'invalid-quantity': 2,
      'invalid-time': 1,
      'invalid-customer': 1,
      'invalid-dimension': 1,
      'undeclared-dimension': 1,
      'max-live-keys': 1,
      'missing-customer': 1,
      'shut-down': 0,
    });
  });

  it('writes one line for a burst of one reason, then one summary with the count after the interval', async () => {
    const { logger, lines } = recordingLogger();
    const ctx = setup({ logger, logSummaryMillis: 60_000 });
    await ctx.engine.start();
    for (let i = 0; i < 1_000; i++) ctx.engine.record(alice, 'api_calls', -1);
    expect(lines.filter((l) => l.message.includes('invalid-quantity'))).toHaveLength(1);
    await ctx.clock.advance(61_000);
    const about = lines.filter((l) => l.message.includes('invalid-quantity'));
    expect(about).toHaveLength(2);
    expect(about[1]?.message).toContain('999 more time(s) in the last 6');
  });

  it('rate-limits each reason on its own', () => {
    const { logger, lines } = recordingLogger();
    const ctx = setup({ logger });
    for (let i = 0; i < 100; i++) {
      ctx.engine.record(alice, 'api_calls', -1);
      ctx.engine.record({ customerIdentifier: '' }, 'api_calls');
    }
    expect(lines.map((l) => l.message.match(/\((invalid-[a-z]+)\)/)?.[1])).toEqual([
      'invalid-quantity',
      'invalid-customer',
    ]);
  });

  it('writes a reason in full again once it has been quiet for an interval', async () => {
    const { logger, lines } = recordingLogger();
    const ctx = setup({ logger, logSummaryMillis: 60_000 });
    await ctx.engine.start();
    ctx.engine.record(alice, 'api_calls', -1);
    await ctx.clock.advance(61_000);
    ctx.engine.record(alice, 'api_calls', -1);
    expect(lines.filter((l) => l.message.includes('refused (invalid-quantity) and not billed'))).toHaveLength(
      2,
    );
  });
});
