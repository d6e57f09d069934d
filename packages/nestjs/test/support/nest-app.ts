// Test support: a real Nest app around MeteringModule, billing into an InMemorySink on a ManualClock.
import { type CustomerRef, silentLogger } from '@meterkit/core';
import { InMemorySink, ManualClock } from '@meterkit/core/testing';
import type { INestApplication, Type } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { MeteringModule, MeteringService } from '../../src/index.js';

export const ACME: CustomerRef = { customerIdentifier: 'cust-acme-0001' };
export const INITECH: CustomerRef = { customerIdentifier: 'cust-initech-0001' };

type ForRootOptions = Parameters<typeof MeteringModule.forRoot>[0];

export interface TestApp {
  readonly app: INestApplication;
  readonly url: string;
  readonly clock: ManualClock;
  readonly sink: InMemorySink;
  /** Closes the hour, flushes, and lists what was billed as `[customerIdentifier, dimension, quantity]`. */
  billed(): Promise<[string | undefined, string, number][]>;
}

/** Starts an app with `controllers` and `MeteringModule.forRoot(options)` (customer ACME unless given), listening. */
export async function startApp(
  controllers: Type[],
  options: Partial<ForRootOptions> = {},
  imports: unknown[] = [],
): Promise<TestApp> {
  const clock = new ManualClock();
  const sink = new InMemorySink();
  const moduleRef = await Test.createTestingModule({
    imports: [
      ...(imports as never[]),
      MeteringModule.forRoot({
        productCode: 'prod-meterkit-unit',
        store: 'memory',
        logger: silentLogger,
        customer: () => ACME,
        schedule: { checkpoint: 3_600_000, dispatch: 3_600_000 },
        ...options,
        sink,
        clock,
        timers: clock,
      } as ForRootOptions),
    ],
    controllers,
  }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.listen(0, '127.0.0.1');
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  return {
    app,
    url,
    clock,
    sink,
    async billed() {
      await clock.advance(3_600_000 + 120_000);
      await app.get(MeteringService).flush();
      return [...sink.ledger.values()].map(({ record }) => [
        record.key.customerIdentifier,
        record.key.dimension,
        record.quantity,
      ]);
    },
  };
}
