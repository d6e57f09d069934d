import type { DynamicModule, Provider } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR, APP_PIPE } from '@nestjs/core';
import { describe, expect, it } from 'vitest';
import { MeteringModule } from '../src/index.js';

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

  it('applies no middleware', () => {
    expect('configure' in MeteringModule.prototype).toBe(false);
  });
});
