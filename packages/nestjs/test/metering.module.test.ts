import { MeteringEngine } from '@meterkit/core';
import type { DynamicModule, Provider } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR, APP_PIPE } from '@nestjs/core';
import { afterEach, describe, expect, it } from 'vitest';
import { METERING_ENGINE, MeteringModule, MeteringService } from '../src/index.js';
import { startApp, type TestApp } from './support/nest-app.js';

let running: TestApp | undefined;
afterEach(async () => {
  await running?.app.close();
  running = undefined;
});

const ENHANCER_TOKENS: unknown[] = [APP_INTERCEPTOR, APP_GUARD, APP_PIPE, APP_FILTER];

/** The app-wide interceptors, guards, pipes and filters a module registers: every route would run them. */
function globalEnhancers(module: DynamicModule): unknown[] {
  return (module.providers ?? [])
    .filter(
      (provider: Provider) => typeof provider === 'object' && ENHANCER_TOKENS.includes(provider.provide),
    )
    .map((provider) => (provider as { provide: unknown }).provide);
}

const options = { productCode: 'prod-meterkit-unit', customer: () => undefined };

describe('MeteringModule', () => {
  it('puts nothing on the path of every route unless asked for a global interceptor', () => {
    expect(globalEnhancers(MeteringModule.forRoot(options))).toEqual([]);
    expect(globalEnhancers(MeteringModule.forRootAsync({ useFactory: () => options }))).toEqual([]);
    expect(globalEnhancers(MeteringModule.forRoot({ ...options, globalInterceptor: true }))).toEqual([
      APP_INTERCEPTOR,
    ]);
  });

  it('provides the engine under its class, and under METERING_ENGINE for apps that inject the token', async () => {
    running = await startApp([]);
    const engine = running.app.get(MeteringEngine);
    expect(engine).toBeInstanceOf(MeteringEngine);
    expect(running.app.get(METERING_ENGINE)).toBe(engine);
    expect(running.app.get(MeteringService).engine).toBe(engine);
  });

  it('applies no middleware', () => {
    expect('configure' in MeteringModule.prototype).toBe(false);
  });
});
