import { createMeteringEngine, type MeteringOptions, silentLogger } from '@meterkit/core';
import { InMemorySink, type InMemorySinkOptions, ManualClock } from '@meterkit/core/testing';

export const PRODUCT = 'prod-abc123';
export const alice = { customerIdentifier: 'cust-alice', productCode: PRODUCT } as const;
export const bob = {
  awsAccountId: '111122223333',
  licenseArn: 'arn:aws:license-manager::111122223333:license:l-bob0000000000001',
  productCode: PRODUCT,
} as const;

/** An engine on a manual clock (2026-11-26T10:00Z) with an in-memory sink and a silent logger. */
export function setup(options: Partial<MeteringOptions> = {}, sinkOptions: InMemorySinkOptions = {}) {
  const clock = new ManualClock();
  const sink = new InMemorySink({ clock, ...sinkOptions });
  const engine = createMeteringEngine({
    sink,
    clock,
    timers: clock,
    logger: silentLogger,
    random: () => 0.5,
    ...options,
  });
  return { clock, sink, engine };
}
