// MeteringGuard in a real Nest app: the thin hook that meters @Meter() routes from the guard stage.
import type { ExecutionContext } from '@nestjs/common';
import { Controller, Get, Injectable } from '@nestjs/common';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Meter, MeteringGuard, MeteringInterceptor } from '../src/index.js';
import { ACME, INITECH, startApp, type TestApp } from './support/nest-app.js';

@Controller()
class ApiController {
  static served = 0;

  @Meter('api_calls')
  @Get('calls')
  calls() {
    ApiController.served += 1;
    return { ok: true };
  }

  @Meter({ dimension: 'rows', quantity: (_context, result) => (result as unknown[]).length })
  @Get('rows')
  rows() {
    return [1, 2, 3];
  }
}

/** A global interceptor whose hook bills Initech: shows who meters when one is registered. */
@Injectable()
class BillInitech extends MeteringInterceptor {
  protected override resolveCustomer(_context: ExecutionContext) {
    return INITECH;
  }
}

let running: TestApp | undefined;
afterEach(async () => {
  vi.restoreAllMocks();
  await running?.app.close();
  running = undefined;
  ApiController.served = 0;
});

describe('MeteringGuard', () => {
  it('meters a route from the guard stage, without running the interceptor', async () => {
    const intercept = vi.spyOn(MeteringInterceptor.prototype, 'intercept');
    running = await startApp([ApiController]);
    await fetch(`${running.url}/calls`);
    await fetch(`${running.url}/calls`);
    expect(await running.billed()).toEqual([[ACME.customerIdentifier, 'api_calls', 2]]);
    expect(intercept).not.toHaveBeenCalled();
  });

  it('leaves a route that counts from the result to the interceptor, which counts it once', async () => {
    const canActivate = vi.spyOn(MeteringGuard.prototype, 'canActivate');
    running = await startApp([ApiController]);
    await fetch(`${running.url}/rows`);
    expect(await running.billed()).toEqual([[ACME.customerIdentifier, 'rows', 3]]);
    expect(canActivate).not.toHaveBeenCalled();
  });

  it('steps aside for a global interceptor, which meters the route with its own hooks', async () => {
    running = await startApp([ApiController], { globalInterceptor: BillInitech });
    await fetch(`${running.url}/calls`);
    expect(await running.billed()).toEqual([[INITECH.customerIdentifier, 'api_calls', 1]]);
  });

  it('refuses a request without a customer before its handler under a 401 policy', async () => {
    running = await startApp([ApiController], { customer: () => undefined, onMissingCustomer: 401 });
    expect((await fetch(`${running.url}/calls`)).status).toBe(401);
    expect(ApiController.served).toBe(0);
  });
});
