import { EventEmitter } from 'node:events';
import { type CustomerRef, createMeteringEngine, silentLogger } from '@meterkit/core';
import { InMemorySink, ManualClock } from '@meterkit/core/testing';
import { Reflector } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host.js';
import { lastValueFrom, type Observable, of } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { Meter, MeteringInterceptor } from '../src/index.js';
import { resolveMeteringOptions } from '../src/metering-options.js';
import { RequestMeteringService } from '../src/request-metering.service.js';

const ACME: CustomerRef = { customerIdentifier: 'cust-acme-0001' };

class RowsController {
  @Meter({ dimension: 'export_kb', quantity: () => 2 })
  export() {}

  @Meter({ dimension: 'rows', quantity: (_context, result) => (result as unknown[]).length })
  rows() {}
}

describe('MeteringInterceptor', () => {
  /** Runs `handler` of RowsController through a real engine, returning `value`, finishes with 200, drains. */
  async function serve(handler: keyof RowsController, value: unknown) {
    const clock = new ManualClock();
    const sink = new InMemorySink();
    const engine = createMeteringEngine({
      productCode: 'prod-meterkit-unit',
      sink,
      clock,
      timers: clock,
      scheduling: 'external',
      logger: silentLogger,
    });
    const options = resolveMeteringOptions({ productCode: 'prod-meterkit-unit', customer: () => ACME });
    const reflector = new Reflector();
    const requests = new RequestMeteringService(engine, reflector, options);
    const interceptor = new MeteringInterceptor(requests, reflector, options);
    const response = Object.assign(new EventEmitter(), { statusCode: 200 });
    const context = new ExecutionContextHost(
      [{}, response, undefined],
      RowsController,
      RowsController.prototype[handler],
    );
    context.setType('http');
    const handled = of(value);
    // Act
    // A synchronous resolver: the interceptor answers with an observable, not a promise of one.
    const observable = interceptor.intercept(context, { handle: () => handled }) as Observable<unknown>;
    await lastValueFrom(observable);
    response.emit('finish');
    await clock.run(engine.shutdown());
    const billed = [...sink.ledger.values()].map(({ record }) => [record.key.dimension, record.quantity]);
    return { observable, handled, billed };
  }

  it("leaves the handler's observable untouched when no quantity reads the result", async () => {
    const { observable, handled, billed } = await serve('export', { data: 'x' });
    expect(observable).toBe(handled);
    expect(billed).toEqual([['export_kb', 2]]);
  });

  it('watches the handler when a quantity reads the result, and counts from it', async () => {
    const { observable, handled, billed } = await serve('rows', [1, 2, 3]);
    expect(observable).not.toBe(handled);
    expect(billed).toEqual([['rows', 3]]);
  });
});
