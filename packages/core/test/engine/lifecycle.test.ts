import {
  exitCodeFor,
  HOUR_MILLIS,
  isMeteringError,
  MemoryStore,
  type MeteringLogger,
  systemTimers,
  UNSENT_USAGE_EXIT_CODE,
  type UsageStore,
} from '@meterkit/core';
import { type SealResult, type UsageDelta } from '@meterkit/core/store';
import { InMemorySink } from '@meterkit/core/testing';
import { describe, expect, it } from 'vitest';
import { alice, billed, bob, setup, setupWithSink } from '../helpers.js';

const H10 = Date.UTC(2026, 10, 26, 10);

function recordingLogger() {
  const lines: [string, string][] = [];
  const logger: MeteringLogger = {
    info: (m) => lines.push(['info', m]),
    warn: (m) => lines.push(['warn', m]),
    error: (m) => lines.push(['error', m]),
  };
  return { logger, lines };
}

/** A sink whose calls wait until the test opens it, counting how many are in flight. */
class GatedSink extends InMemorySink {
  inFlight = 0;
  private opened = false;
  private waiting: (() => void)[] = [];
  override async export(records: Parameters<InMemorySink['export']>[0]) {
    this.inFlight += 1;
    if (!this.opened) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.inFlight -= 1;
    return super.export(records);
  }
  open(): void {
    this.opened = true;
    for (const resume of this.waiting.splice(0)) resume();
  }
}

/** A memory store that remembers whether a flush began sealing while a call of another flush was in flight. */
class OverlapProbeStore extends MemoryStore {
  overlapped = false;
  constructor(private readonly sink: GatedSink) {
    super();
  }
  override sealClosedHours(closeBefore: number, limit: number): Promise<SealResult> {
    if (this.sink.inFlight > 0) this.overlapped = true;
    return super.sealClosedHours(closeBefore, limit);
  }
}

/** A store that outlives the process (as SQLite or Redis do), so the engine must leave the open hour in it. */
class HostScopedStore implements UsageStore {
  readonly scope = 'host';
  readonly name = 'host-scoped';
  readonly inner = new MemoryStore();
  addDeltas: UsageStore['addDeltas'] = (d) => this.inner.addDeltas(d);
  sealClosedHours: UsageStore['sealClosedHours'] = (c, l) => this.inner.sealClosedHours(c, l);
  takeDue: UsageStore['takeDue'] = (n, l, m) => this.inner.takeDue(n, l, m);
  settle: UsageStore['settle'] = (s) => this.inner.settle(s);
  pending: UsageStore['pending'] = (l) => this.inner.pending(l);
  deadLetters: UsageStore['deadLetters'] = (l) => this.inner.deadLetters(l);
  requeueDeadLetters: UsageStore['requeueDeadLetters'] = (i, n) => this.inner.requeueDeadLetters(i, n);
  auditLog: UsageStore['auditLog'] = (l) => this.inner.auditLog(l);
  stats: UsageStore['stats'] = () => this.inner.stats();
  close: UsageStore['close'] = () => this.inner.close();
}

/** A store that refuses the first write, as a database might when briefly unavailable. */
class FlakyStore extends MemoryStore {
  private failures = 1;
  override async addDeltas(deltas: readonly UsageDelta[]): Promise<void> {
    if (this.failures-- > 0) throw new Error('store unavailable');
    return super.addDeltas(deltas);
  }
}

describe('start()', () => {
  it('is idempotent: opens the store once and arms one timer', async () => {
    let opens = 0;
    const store = Object.assign(new MemoryStore(), {
      open: async () => {
        opens += 1;
      },
    });
    const { logger, lines } = recordingLogger();
    const ctx = setup({ store, logger });
    await ctx.engine.start();
    await ctx.engine.start();
    expect(opens).toBe(1);
    expect(ctx.clock.pendingTimers).toBe(1);
    expect(lines.filter(([, message]) => message.startsWith('using the memory store'))).toHaveLength(1);
    await ctx.engine.shutdown();
  });

  it('warns at start-up that the memory store is for one instance and loses usage on a restart within the hour', async () => {
    const { logger, lines } = recordingLogger();
    const ctx = setup({ logger });
    await ctx.engine.start();
    expect(lines).toContainEqual(['warn', expect.stringContaining('Run ONE instance')]);
    expect(lines).toContainEqual([
      'warn',
      expect.stringContaining('A RESTART WITHIN THE SAME UTC HOUR LOSES'),
    ]);
    await ctx.engine.shutdown();
  });

  it('with external scheduling, runs no background work until tick() is called', async () => {
    const ctx = setup({ scheduling: 'external' });
    await ctx.engine.start();
    ctx.engine.record(alice, 'api_calls', 2);
    await ctx.clock.advance(HOUR_MILLIS + 130_000);
    expect(ctx.sink.calls).toHaveLength(0);
    await ctx.clock.run(ctx.engine.tick());
    expect(billed(ctx.sink)).toEqual([['cust-alice', H10, 2]]);
    await ctx.engine.shutdown();
  });
});

describe('timers', () => {
  it('uses unref()ed system timers by default, so metering never keeps a process alive', () => {
    const ctx = setup({ clock: undefined, timers: undefined });
    expect(ctx.engine.options.timers).toBe(systemTimers);
    const handle = systemTimers.setTimeout(() => {}, 60_000) as NodeJS.Timeout;
    expect(handle.hasRef()).toBe(false);
    systemTimers.clearTimeout(handle);
  });
});

describe('checkpoint()', () => {
  it('keeps counts a failing store refused and writes them on the next checkpoint', async () => {
    const ctx = setup({ store: new FlakyStore() });
    const errors: string[] = [];
    ctx.engine.events.on('engine.error', (e) => errors.push(e.operation));
    await ctx.engine.start();
    ctx.engine.record(alice, 'api_calls', 5);
    await ctx.clock.advance(1_000);
    expect(errors.length).toBeGreaterThan(0);
    expect((await ctx.engine.stats()).unwrittenDeltas).toBe(0);
    await ctx.clock.advance(HOUR_MILLIS + 120_000);
    expect(billed(ctx.sink)).toEqual([['cust-alice', H10, 5]]);
    await ctx.engine.shutdown();
  });
});

describe('forceFlush()', () => {
  it('sends closed hours at once and can be called again safely', async () => {
    const ctx = setup({ scheduling: 'external' });
    await ctx.engine.start();
    ctx.engine.record(alice, 'api_calls', 2, H10 - HOUR_MILLIS);
    await ctx.clock.advanceTo(H10 + 130_000);
    const first = await ctx.clock.run(ctx.engine.forceFlush());
    const second = await ctx.clock.run(ctx.engine.forceFlush());
    expect([first.sealedRecords, first.accepted, first.pending]).toEqual([1, 1, 0]);
    expect([second.sealedRecords, second.accepted, second.calls]).toEqual([0, 0, 0]);
    expect(ctx.sink.ledger.size).toBe(1);
    await ctx.engine.shutdown();
  });

  it('runs one flush at a time: a second waits for the first to finish', async () => {
    const sink = new GatedSink();
    const store = new OverlapProbeStore(sink);
    const { engine } = setupWithSink(() => sink, { scheduling: 'external', store });
    engine.record(alice, 'api_calls', 1, H10 - 2 * HOUR_MILLIS);
    engine.record(bob, 'api_calls', 1, H10 - 2 * HOUR_MILLIS);
    const first = engine.forceFlush();
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    expect(sink.inFlight).toBe(1);
    const second = engine.forceFlush();
    for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(store.overlapped).toBe(false);
    sink.open();
    await Promise.all([first, second]);
    expect(store.overlapped).toBe(false);
  });
});

describe('shutdown()', () => {
  it('is idempotent: a second call returns the first report and shuts the sink down once', async () => {
    const ctx = setup();
    let sinkShutdowns = 0;
    Object.assign(ctx.sink, {
      shutdown: async () => {
        sinkShutdowns += 1;
      },
    });
    await ctx.engine.start();
    ctx.engine.record(alice, 'api_calls', 7);
    const [a, b] = await Promise.all([ctx.engine.shutdown(), ctx.engine.shutdown()]);
    expect(b).toBe(a);
    expect(await ctx.engine.shutdown()).toBe(a);
    expect(sinkShutdowns).toBe(1);
    expect(billed(ctx.sink)).toEqual([['cust-alice', H10, 7]]);
  });

  it('with the memory store, reports usage the sink refused until the deadline as lost, with units and customers', async () => {
    const { logger, lines } = recordingLogger();
    const ctx = setup({ logger }, { faults: () => ({ kind: 'throttle' }) });
    const unsent: number[] = [];
    let left: unknown;
    ctx.engine.events.on('usage.unsent-at-shutdown', (e) => {
      unsent.push(...e.records.map((r) => r.quantity));
      left = e.left;
    });
    await ctx.engine.start();
    ctx.engine.record(alice, 'api_calls', 7);
    const report = await ctx.clock.run(ctx.engine.shutdown({ timeoutMillis: 5_000 }));
    expect(report.timedOut).toBe(true);
    expect(unsent).toEqual([7]);
    expect(left).toMatchObject({
      fate: 'lost',
      unsentRecords: 1,
      unsentUnits: 7,
      unansweredRecords: 0,
      customers: 1,
    });
    expect(report.left).toEqual(left);
    expect(exitCodeFor(report)).toBe(UNSENT_USAGE_EXIT_CODE);
    expect(lines).toContainEqual([
      'error',
      expect.stringMatching(/7 unit\(s\) in 1 sealed record.*lost with the process/),
    ]);
    expect(lines).toContainEqual([
      'error',
      expect.stringContaining("CloudTrail events named 'BatchMeterUsage'"),
    ]);
    expect(lines.join('\n')).not.toContain('cust-alice');
    expect(ctx.sink.ledger.size).toBe(0);
  });

  it('with the memory store, says records whose answer was lost may have been billed, not that they were lost', async () => {
    const { logger, lines } = recordingLogger();
    const ctx = setup({ logger }, { faults: () => ({ kind: 'server-error' }) });
    await ctx.engine.start();
    ctx.engine.record(alice, 'api_calls', 7);
    const report = await ctx.clock.run(ctx.engine.shutdown({ timeoutMillis: 5_000 }));
    expect(report.left).toMatchObject({ unsentRecords: 0, unansweredRecords: 1, unansweredUnits: 7 });
    expect(lines).toContainEqual(['error', expect.stringContaining('MAY HAVE BEEN BILLED')]);
    expect(lines).toContainEqual([
      'info',
      expect.stringContaining('7 unit(s) left (open 0, carried 0, unsent 0, sent without answer 7)'),
    ]);
  });

  it('counts records whose connection was refused as unsent: the call never left the host', async () => {
    class RefusingSink extends InMemorySink {
      override async export() {
        return {
          status: 'retryable' as const,
          reason: 'network' as const,
          code: 'ECONNREFUSED',
          message: 'connect ECONNREFUSED 127.0.0.1:9',
        };
      }
    }
    const ctx = setupWithSink((clock) => new RefusingSink({ clock }));
    await ctx.engine.start();
    ctx.engine.record(alice, 'api_calls', 7);
    const report = await ctx.clock.run(ctx.engine.shutdown({ timeoutMillis: 5_000 }));
    expect(report.left).toMatchObject({ unsentRecords: 1, unsentUnits: 7, unansweredRecords: 0 });
  });

  it('cuts a call still in flight at the shutdown deadline and reports its records as possibly billed', async () => {
    const ctx = setupWithSink((clock) => new GatedSink({ clock }));
    await ctx.engine.start();
    ctx.engine.record(alice, 'api_calls', 7);
    const report = await ctx.clock.run(ctx.engine.shutdown({ timeoutMillis: 5_000 }));
    expect(report.timedOut).toBe(true);
    expect(report.left).toMatchObject({ fate: 'lost', unansweredRecords: 1, unansweredUnits: 7 });
  });

  it('logs a one-line summary at every shutdown, also when everything was billed', async () => {
    const { logger, lines } = recordingLogger();
    const ctx = setup({ logger });
    await ctx.engine.start();
    ctx.engine.record(alice, 'api_calls', 7);
    const report = await ctx.clock.run(ctx.engine.shutdown());
    expect(lines).toContainEqual([
      'info',
      'shutdown: 1 record(s) (7 unit(s)) billed during the drain; nothing left unbilled',
    ]);
    expect(exitCodeFor(report)).toBeUndefined();
  });

  it('with a store that outlives the process, leaves the open hour in it', async () => {
    const store = new HostScopedStore();
    const ctx = setup({ store });
    await ctx.engine.start();
    ctx.engine.record(alice, 'api_calls', 7);
    await ctx.engine.shutdown();
    expect(ctx.sink.calls).toHaveLength(0);
    expect((await store.stats()).openUnits).toBe(7);
  });

  it('stops counting: record() then returns false with reason shut-down', async () => {
    const ctx = setup();
    const reasons: string[] = [];
    ctx.engine.events.on('usage.rejected', (e) => reasons.push(e.reason));
    await ctx.engine.shutdown();
    expect(ctx.engine.record(alice, 'api_calls')).toBe(false);
    expect(ctx.engine.admits(alice, 'api_calls')).toBe(false);
    expect(reasons).toEqual(['shut-down']);
  });

  it('refuses a flush after shutdown with ERR_METERING_SHUT_DOWN', async () => {
    const ctx = setup();
    await ctx.engine.shutdown();
    const error = await ctx.engine.forceFlush().catch((e: unknown) => e);
    expect(isMeteringError(error) && error.code).toBe('ERR_METERING_SHUT_DOWN');
  });

  it('stops the timers', async () => {
    const ctx = setup();
    await ctx.engine.start();
    await ctx.engine.shutdown();
    expect(ctx.clock.pendingTimers).toBe(0);
  });

  it('runs on `await using` disposal', async () => {
    const ctx = setup();
    ctx.engine.record(alice, 'api_calls', 2);
    await ctx.engine[Symbol.asyncDispose]();
    expect((await ctx.engine.stats()).state).toBe('stopped');
    expect(billed(ctx.sink)).toEqual([['cust-alice', H10, 2]]);
  });
});
