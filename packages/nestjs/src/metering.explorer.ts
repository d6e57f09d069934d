/** Start-up pass over the app's controllers: the metering guard put last, and every `@Meter()` dimension checked. */
import { MeteringEngine } from '@meterkit/core';
import { Inject, Injectable, type OnModuleInit, type Type } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { MeterMetadata } from './meter.metadata.js';
import { runMeteringGuardLast } from './metering-guard-order.js';

/**
 * Finds every `@Meter()` at start-up:
 * - while Nest creates the providers, it makes the metering guard the last guard of each route
 *   ({@link runMeteringGuardLast}). It must run then: Nest reads a route's guards when it builds the route, after
 *   every provider exists and before any `onModuleInit` (the explorer's test pins both, so a Nest release that
 *   changes either fails it). A module `configure()` would also run in time, but it is the middleware hook, and the
 *   module applies no middleware;
 * - at `onModuleInit`, it checks each dimension against the service's rules and the declared `dimensions`, so a typo
 *   fails the app before it listens, naming `Controller.method`, instead of billing nothing.
 */
@Injectable()
export class MeteringExplorer implements OnModuleInit {
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
    @Inject(MeteringEngine) private readonly engine: MeteringEngine,
  ) {
    runMeteringGuardLast(this.controllers(), scanner);
  }

  onModuleInit(): void {
    for (const controller of this.controllers()) {
      this.check(controller, controller.name);
      const prototype = controller.prototype as Record<string, unknown>;
      for (const method of this.scanner.getAllMethodNames(prototype)) {
        const handler = prototype[method];
        if (typeof handler === 'function')
          this.check(handler as (...args: never[]) => unknown, `${controller.name}.${method}`);
      }
    }
  }

  private controllers(): Type[] {
    return this.discovery
      .getControllers()
      .map((wrapper) => wrapper.metatype as Type | null | undefined)
      .filter((controller): controller is Type => typeof controller === 'function');
  }

  private check(target: Type | ((...args: never[]) => unknown), where: string): void {
    for (const { dimension } of this.reflector.get(MeterMetadata, target) ?? []) {
      this.engine.assertDimension(dimension, where);
    }
  }
}
