import type { MeteringLogger } from '@meterkit/core';
import { describe, expect, it } from 'vitest';
import { alice, carol, setup } from '../helpers.js';

const TO_SEAL = 3_600_000 + 120_000 + 1_000;

/** A logger that keeps every line as `level message`. */
function capture(): { logger: MeteringLogger; lines: string[]; contexts: Record<string, unknown>[] } {
  const lines: string[] = [];
  const contexts: Record<string, unknown>[] = [];
  const keep = (level: string) => (message: string, context?: Record<string, unknown>) => {
    lines.push(`${level} ${message}`);
    contexts.push(context ?? {});
  };
  return { lines, contexts, logger: { info: keep('info'), warn: keep('warn'), error: keep('error') } };
}

describe('dispatcher: sink failure and recovery logs', () => {
  it('logs the first failed call and the recovery once each, however many calls fail in between', async () => {
    // Prepare
    const log = capture();
    const { engine, clock, sink } = setup({ logger: log.logger, retryMaxMillis: 5_000 });
    const failures: string[] = [];
    engine.events.on('sink.failing', (e) => failures.push(`${e.outcome} ${e.code}`));
    const recoveries: number[] = [];
    engine.events.on('sink.recovered', (e) => recoveries.push(e.failedCalls));
    sink.enqueue(
      { kind: 'server-error' },
      { kind: 'network' },
      { kind: 'server-error' },
      { kind: 'server-error' },
    );
    await engine.start();
    engine.record(alice, 'api_calls', 2);
    // Act
    await clock.advance(TO_SEAL + 120_000);
    // Assess
    expect(sink.calls.length).toBe(5);
    const sinkLines = log.lines.filter((l) => l.includes('sink'));
    expect(sinkLines).toEqual([
      'warn calls to the sink are failing; records stay queued and are retried unchanged',
      'info the sink answers again; queued records are being sent',
    ]);
    expect(failures).toEqual(['server-error InternalServiceErrorException']);
    expect(recoveries).toEqual([4]);
    await engine.shutdown();
  });

  it('logs a call refused for a reason no record can fix as an error, once, with the code and no identifiers', async () => {
    const log = capture();
    const { engine, clock, sink } = setup({ logger: log.logger, failedRetryMillis: 10_000 });
    sink.enqueue(
      { kind: 'failed', code: 'InvalidProductCodeException' },
      { kind: 'failed', code: 'InvalidProductCodeException' },
    );
    await engine.start();
    engine.record(alice, 'api_calls', 2);
    engine.record(carol, 'api_calls', 3);
    await clock.advance(TO_SEAL + 30_000);
    const errors = log.lines.filter((l) => l.startsWith('error'));
    expect(errors).toEqual([
      'error calls to the sink are refused for a reason no record can fix (credentials, product, region); records stay queued',
    ]);
    const context = JSON.stringify(log.contexts[log.lines.indexOf(errors[0] as string)]);
    expect(context).toContain('InvalidProductCodeException');
    expect(context).not.toContain(alice.customerIdentifier);
    await engine.shutdown();
  });
});
