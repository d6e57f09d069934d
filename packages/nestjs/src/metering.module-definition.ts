/** The configurable-module definition behind `MeteringModule.forRoot`/`forRootAsync`, and its extras. */
import { ConfigurableModuleBuilder, type Provider, type Type } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { METERING_GLOBAL_INTERCEPTOR } from './metering.constants.js';
import { MeteringInterceptor } from './metering.interceptor.js';
import type { MeteringModuleOptions } from './metering-options.js';

/** Options of `forRoot`/`forRootAsync` that shape the module itself rather than metering. */
export interface MeteringModuleExtras {
  /**
   * Makes `MeteringService` (and what `@Meter()` needs) injectable in every module. `@Meter()` on a controller of a
   * module that cannot see them fails at start-up with Nest's "can't resolve dependencies" error.
   * @default true
   */
  isGlobal?: boolean;
  /**
   * Registers the interceptor for every route (`APP_INTERCEPTOR`); pass your subclass of `MeteringInterceptor` to
   * use its hooks everywhere (it then meters every `@Meter()` route itself). Off by default: `@Meter()` attaches a
   * guard to the routes it marks (an interceptor to those that count from the handler's result), so unmetered routes
   * pay nothing (a global interceptor, even a no-op one, costs every route about a seventh of its throughput).
   * @default false
   */
  globalInterceptor?: boolean | Type<MeteringInterceptor>;
}

function globalInterceptorProviders(option: MeteringModuleExtras['globalInterceptor']): Provider[] {
  const global = option !== undefined && option !== false;
  // Route guards step aside for a global interceptor: it meters every route, with its subclass's hooks.
  const told: Provider = { provide: METERING_GLOBAL_INTERCEPTOR, useValue: global };
  if (!global) return [told];
  return [told, { provide: APP_INTERCEPTOR, useClass: option === true ? MeteringInterceptor : option }];
}

export const {
  ConfigurableModuleClass,
  MODULE_OPTIONS_TOKEN: METERING_MODULE_OPTIONS,
  OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<MeteringModuleOptions>({ moduleName: 'Metering' })
  .setClassMethodName('forRoot')
  .setExtras<MeteringModuleExtras>({ isGlobal: true, globalInterceptor: false }, (definition, extras) => ({
    ...definition,
    global: extras.isGlobal,
    providers: [...(definition.providers ?? []), ...globalInterceptorProviders(extras.globalInterceptor)],
    exports: [...(definition.exports ?? []), METERING_GLOBAL_INTERCEPTOR],
  }))
  .build();
