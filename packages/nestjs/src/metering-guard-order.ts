/** Puts the metering guard after every other guard of a metered route, in the route metadata Nest reads. */
import type { Type } from '@nestjs/common';
import { GUARDS_METADATA } from '@nestjs/common/constants.js';
import type { MetadataScanner } from '@nestjs/core';
import { SkipMeter } from './meter.metadata.js';
import { MeteringGuard } from './metering.guard.js';

type Guards = readonly unknown[];

function skipped(handler: object): boolean {
  return Reflect.getMetadata(SkipMeter.KEY, handler) === true;
}

function guardsOf(target: object): Guards {
  return (Reflect.getMetadata(GUARDS_METADATA, target) as Guards | undefined) ?? [];
}

/**
 * @internal Makes {@link MeteringGuard} the last guard of every route it guards, so the customer resolver sees what
 * every other guard attached, whatever the order decorators were written in. Nest runs global guards, then the
 * controller's, then the handler's: the guard of a metered controller moves onto each of its handlers (but those
 * with their own `@SkipMeter()`, which meter nothing), after theirs.
 * Runs before Nest builds its routes (it reads the guards then); idempotent, so an app created twice is fine.
 */
export function runMeteringGuardLast(controllers: readonly Type[], scanner: MetadataScanner): void {
  // Read everything first: a controller may inherit its guards from another controller of the list.
  const plan = controllers.map((controller) => {
    const prototype = controller.prototype as Record<string, unknown>;
    const handlers = scanner
      .getAllMethodNames(prototype)
      .map((name) => prototype[name])
      .filter((handler): handler is object => typeof handler === 'function');
    return { controller, meteredClass: guardsOf(controller).includes(MeteringGuard), handlers };
  });
  for (const { controller, meteredClass, handlers } of plan) {
    if (meteredClass) {
      const others = guardsOf(controller).filter((guard) => guard !== MeteringGuard);
      Reflect.defineMetadata(GUARDS_METADATA, others, controller);
    }
    for (const handler of handlers) {
      const guards = guardsOf(handler);
      const metered = guards.includes(MeteringGuard) || (meteredClass && !skipped(handler));
      if (!metered) continue;
      if (guards.at(-1) === MeteringGuard && guards.indexOf(MeteringGuard) === guards.length - 1) continue;
      const others = guards.filter((guard) => guard !== MeteringGuard);
      Reflect.defineMetadata(GUARDS_METADATA, [...others, MeteringGuard], handler);
    }
  }
}
