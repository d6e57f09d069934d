// RequestMeteringService: the per-request work behind both hooks, driven with execution contexts and a real engine.
import { EventEmitter } from 'node:events';
import { type CustomerRef, createMeteringEngine, type MeteringOptions, silentLogger } from '@meterkit/core';
import { InMemorySink, ManualClock } from '@meterkit/core/testing';
import {
  type ExecutionContext,
  ForbiddenException,
  ServiceUnavailableException,
  UnauthorizedException,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host.js';
import { describe, expect, it, vi } from 'vitest';
import { Meter, type MeteringModuleOptions, SkipMeter } from '../src/index.js';
import { resolveMeteringOptions } from '../src/metering-options.js';
import { RequestMeteringService } from '../src/request-metering.service.js';
import type { ResponseMeter } from '../src/response-meter.js';

const ACME: CustomerRef = { customerIdentifier: 'cust-acme-0001' };
const INITECH: CustomerRef = { customerIdentifier: 'cust-initech-0001' };

class ReportsController {
  @Meter('api_calls', 'reports')
  create() {}

  @Meter({ dimension: 'rows', quantity: (_context, result) => (result as unknown[]).length })
  rows() {}

  @Meter({
    dimension: 'api_calls',
    quantity: () => {
      throw new Error('no quantity');
    },
  })
  broken() {}

  plain() {}

  @SkipMeter()
  @Meter('api_calls')
  skipped() {}
}

type Route = keyof ReportsController;

function setUp(adapter: Partial<MeteringModuleOptions> = {}, engineOptions: Partial<MeteringOptions> = {}) {
  const clock = new ManualClock();
  const engine = createMeteringEngine({
    productCode: 'prod-meterkit-unit',
    sink: new InMemorySink(),
    clock,
    timers: clock,
    scheduling: 'external',
    logger: silentLogger,
    ...engineOptions,
  });
  const options = resolveMeteringOptions({
    productCode: 'prod-meterkit-unit',
    customer: () => ACME,
    ...adapter,
  });
  const requests = new RequestMeteringService(engine, new Reflector(), options);
  const record = vi.spyOn(engine, 'record');
  return { engine, requests, record };
}

/** An HTTP execution context for `route`, over a response that is not a Node server's (so it gets a listener). */
function contextFor(route: Route) {
  const headers = new Map<string, unknown>();
  const response = Object.assign(new EventEmitter(), {
    statusCode: 200,
    setHeader: (name: string, value: unknown) => headers.set(name, value),
  });
  const context = new ExecutionContextHost(
    [{}, response, undefined],
    ReportsController,
    ReportsController.prototype[route],
  );
  context.setType('http');
  const finish = (statusCode: number) => {
    response.statusCode = statusCode;
    response.emit('finish');
  };
  return { context: context as ExecutionContext, finish, headers };
}

describe('RequestMeteringService', () => {
  it("counts each of the route's dimensions with engine.record() once the response has finished, not before", () => {
    const { requests, record } = setUp();
    const { context, finish } = contextFor('create');
    requests.start(context, requests.defaults, true);
    expect(record).not.toHaveBeenCalled();
    finish(200);
    expect(record.mock.calls).toEqual([
      [ACME, 'api_calls', 1],
      [ACME, 'reports', 1],
    ]);
  });

  it('counts nothing for a response that finished with an error status', () => {
    const { requests, record } = setUp();
    const { context, finish } = contextFor('create');
    requests.start(context, requests.defaults, true);
    finish(500);
    expect(record).not.toHaveBeenCalled();
  });

  it('meters nothing on a route without @Meter() or with @SkipMeter()', () => {
    const { requests } = setUp();
    expect(requests.start(contextFor('plain').context, requests.defaults, true)).toBeUndefined();
    expect(requests.start(contextFor('skipped').context, requests.defaults, true)).toBeUndefined();
  });

  it('leaves a route that reads the result to the interceptor when asked to', () => {
    const { requests } = setUp();
    expect(requests.start(contextFor('rows').context, requests.defaults, true)).toBeUndefined();
    expect(requests.start(contextFor('rows').context, requests.defaults, false)).toBeDefined();
  });

  it('counts from the result the handler returned, kept by the response meter', () => {
    const { requests, record } = setUp();
    const { context, finish } = contextFor('rows');
    const meter = requests.start(context, requests.defaults, false) as ResponseMeter;
    meter.next([1, 2, 3]);
    finish(200);
    expect(record.mock.calls).toEqual([[ACME, 'rows', 3]]);
  });

  it('counts nothing when the handler threw', () => {
    const { requests, record } = setUp();
    const { context, finish } = contextFor('rows');
    const meter = requests.start(context, requests.defaults, false) as ResponseMeter;
    meter.error();
    finish(200);
    expect(record).not.toHaveBeenCalled();
  });

  it('meters a response once, however many hooks start on it', () => {
    const { requests, record } = setUp();
    const { context, finish } = contextFor('create');
    expect(requests.start(context, requests.defaults, true)).toBeDefined();
    expect(requests.start(context, requests.defaults, false)).toBeUndefined();
    finish(200);
    expect(record).toHaveBeenCalledTimes(2);
  });

  it('uses the hooks it is given: their customer and their quantity', () => {
    const { requests, record } = setUp();
    const { context, finish } = contextFor('create');
    requests.start(
      context,
      { ...requests.defaults, resolveCustomer: () => INITECH, getQuantity: () => 7 },
      true,
    );
    finish(200);
    expect(record.mock.calls).toEqual([
      [INITECH, 'api_calls', 7],
      [INITECH, 'reports', 7],
    ]);
  });

  it('serves a request without a customer under the skip policy, counted as served without one', () => {
    const { requests } = setUp({ customer: () => undefined });
    const { context, finish } = contextFor('create');
    requests.start(context, requests.defaults, true);
    finish(200);
    expect(requests.policy.counters.servedWithoutCustomer).toBe(2);
  });

  it('refuses a request without a customer with 401 or 403 under those policies', () => {
    for (const [policy, refusal] of [
      [401, UnauthorizedException],
      [403, ForbiddenException],
    ] as const) {
      const { requests } = setUp({ customer: () => undefined, onMissingCustomer: policy });
      expect(() => requests.start(contextFor('create').context, requests.defaults, true)).toThrow(refusal);
      expect(requests.policy.counters.refusedWithoutCustomer).toBe(1);
    }
  });

  it('waits for an async resolver before watching the response', async () => {
    const { requests, record } = setUp({ customer: async () => ACME });
    const { context, finish } = contextFor('create');
    const started = requests.start(context, requests.defaults, true);
    expect(started).toBeInstanceOf(Promise);
    await started;
    finish(200);
    expect(record).toHaveBeenCalledTimes(2);
  });

  it('fails the request when the resolver throws or rejects, counting the resolver error', async () => {
    const thrown = setUp({
      customer: () => {
        throw new Error('no session');
      },
    });
    expect(() => thrown.requests.start(contextFor('create').context, thrown.requests.defaults, true)).toThrow(
      'no session',
    );
    expect(thrown.requests.policy.counters.resolverErrors).toBe(1);
    const rejected = setUp({ customer: () => Promise.reject(new Error('no session')) });
    await expect(
      rejected.requests.start(contextFor('create').context, rejected.requests.defaults, true),
    ).rejects.toThrow('no session');
    expect(rejected.requests.policy.counters.resolverErrors).toBe(1);
  });

  it('answers 503 with Retry-After when the engine is full under the reject policy', () => {
    const { requests, engine } = setUp({}, { maxLiveKeys: 1, onMaxLiveKeys: 'reject' });
    engine.record(INITECH, 'api_calls');
    const { context, headers } = contextFor('create');
    expect(() => requests.start(context, requests.defaults, true)).toThrow(ServiceUnavailableException);
    expect(headers.get('Retry-After')).toBe('1');
  });

  it('counts nothing for a dimension whose quantity throws, and counts the callback error', () => {
    const { requests, record } = setUp();
    const { context, finish } = contextFor('broken');
    requests.start(context, requests.defaults, true);
    finish(200);
    expect(record).not.toHaveBeenCalled();
    expect(requests.policy.counters.callbackErrors).toBe(1);
  });
});
