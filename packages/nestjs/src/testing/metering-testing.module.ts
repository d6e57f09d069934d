// MeteringModule for tests: an in-memory sink and a manual clock, both injectable; no AWS calls, no wall-clock timers.
import { silentLogger } from '@meterkit/core';
import { InMemorySink, ManualClock } from '@meterkit/core/testing';
import { type DynamicModule, Module } from '@nestjs/common';
import { MeteringModule } from '../metering.module.js';
import type { MeteringModuleOptions } from '../metering-options.js';

/** Options of {@link MeteringTestingModule.forRoot}: the app's metering options, minus what the module supplies. */
export type MeteringTestingOptions = Omit<
  MeteringModuleOptions,
  'sink' | 'clock' | 'timers' | 'productCode'
> & {
  /** @default 'prod-test' */
  productCode?: string;
  /** The sink to bill into. @default a new `InMemorySink` */
  sink?: InMemorySink;
  /** The engine's clock and timers. @default a new `ManualClock` (2026-11-26 10:00 UTC) */
  clock?: ManualClock;
};

/**
 * Drop-in `MeteringModule` for unit and e2e tests (Jest or Vitest): usage is billed into an `InMemorySink` and time
 * moves only when the test says so. The store is the memory store unless `store` says otherwise. Get both from the app: `app.get(InMemorySink)`, `app.get(ManualClock)`.
 * @example
 * ```ts
 * const moduleRef = await Test.createTestingModule({
 *   imports: [MeteringTestingModule.forRoot({ dimensions: ['api_calls'], customer: (ctx) => ... })],
 *   controllers: [ApiController],
 * }).compile();
 * const app = moduleRef.createNestApplication(); await app.listen(0);
 * // ... requests ...
 * await app.get(ManualClock).advance(3_600_000 + 120_000); // the hour closes
 * await app.get(MeteringService).flush();
 * expect(app.get(InMemorySink).ledger.size).toBe(1);
 * ```
 */
@Module({})
export class MeteringTestingModule {
  static forRoot(options: MeteringTestingOptions): DynamicModule {
    const { sink = new InMemorySink(), clock = new ManualClock(), ...rest } = options;
    return {
      module: MeteringTestingModule,
      global: true,
      imports: [
        MeteringModule.forRoot({
          productCode: 'prod-test',
          // A test writes no file: the memory store, unless the test passes another.
          store: 'memory',
          logger: silentLogger,
          // Jobs far apart: a test moves usage with flush() or shutdown, never with a timer it did not advance.
          schedule: { checkpoint: 3_600_000, dispatch: 3_600_000 },
          ...rest,
          sink,
          clock,
          timers: clock,
        }),
      ],
      providers: [
        { provide: InMemorySink, useValue: sink },
        { provide: ManualClock, useValue: clock },
      ],
      exports: [InMemorySink, ManualClock],
    };
  }
}
