/** Shared fixtures of the core tests: customers, engines on a manual clock, billed records, test sinks, a recording logger. */
import {
  createMeteringEngine,
  type MeteringLogger,
  type MeteringOptions,
  silentLogger,
} from '@meterkit/core';
import { InMemorySink, type InMemorySinkOptions, ManualClock } from '@meterkit/core/testing';

export const PRODUCT = 'prod-abc123';
export const alice = { customerIdentifier: 'cust-alice', productCode: PRODUCT } as const;
/** A second legacy customer: legacy and Concurrent Agreements customers never share a call. */
export const carol = { customerIdentifier: 'cust-carol', productCode: PRODUCT } as const;
export const bob = {
  awsAccountId: '111122223333',
  licenseArn: 'arn:aws:license-manager::111122223333:license:l-bob0000000000001',
  productCode: PRODUCT,
} as const;

/**
 * An engine on a manual clock (2026-11-26T10:00Z) with an in-memory sink, a silent logger and `PRODUCT` as the default
 * product code.
 */
export function setup(options: Partial<MeteringOptions> = {}, sinkOptions: InMemorySinkOptions = {}) {
  return setupWithSink((clock) => new InMemorySink({ clock, ...sinkOptions }), options);
}

/** Like {@link setup}, with a sink of the test's choosing (built on the same manual clock). */
export function setupWithSink<S extends InMemorySink>(
  makeSink: (clock: ManualClock) => S,
  options: Partial<MeteringOptions> = {},
) {
  const clock = new ManualClock();
  const sink = makeSink(clock);
  const engine = createMeteringEngine({
    sink,
    clock,
    timers: clock,
    logger: silentLogger,
    random: () => 0.5,
    productCode: PRODUCT,
    ...options,
  });
  return { clock, sink, engine };
}

/** Usage records AWS billed, as [customer, hourStart, quantity], sorted. */
export function billed(sink: InMemorySink): [string | undefined, number, number][] {
  return [...sink.ledger.values()]
    .map(({ record: r }): [string | undefined, number, number] => [
      r.key.customerIdentifier ?? r.key.awsAccountId,
      r.hourStart,
      r.quantity,
    ])
    .sort((a, b) => String(a[0]).localeCompare(String(b[0])) || a[1] - b[1]);
}

/** An in-memory sink whose records look huge, so the 1 MB request limit bites before the 25-record one. */
export class BulkyRecordSink extends InMemorySink {
  constructor(
    readonly recordBytes: number,
    options: InMemorySinkOptions = {},
  ) {
    super(options);
  }
  override estimateRecordBytes(): number {
    return this.recordBytes;
  }
}

/** An in-memory sink whose first `hangs` calls never answer (until the engine aborts them). */
export class HangingSink extends InMemorySink {
  readonly aborted: boolean[] = [];
  constructor(
    private hangs: number,
    options: InMemorySinkOptions = {},
  ) {
    super(options);
  }
  override export(
    records: Parameters<InMemorySink['export']>[0],
    options?: { readonly signal: AbortSignal },
  ): ReturnType<InMemorySink['export']> {
    if (this.hangs <= 0) return super.export(records);
    this.hangs -= 1;
    return new Promise((_, reject) => {
      options?.signal.addEventListener('abort', () => {
        this.aborted.push(true);
        reject(new Error('aborted'));
      });
    });
  }
}

/** A logger that keeps every line with its level, for tests that check what was logged and how loudly. */
export function recordingLogger() {
  const lines: { level: string; message: string }[] = [];
  const logger: MeteringLogger = {
    info: (message) => lines.push({ level: 'info', message }),
    warn: (message) => lines.push({ level: 'warn', message }),
    error: (message) => lines.push({ level: 'error', message }),
  };
  return { logger, lines };
}
