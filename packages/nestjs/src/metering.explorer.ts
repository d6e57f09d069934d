import type { MeteringEngine } from '@meterkit/core';
import { Inject, Injectable, type OnModuleInit, type Type } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { MeterMetadata } from './meter.metadata.js';
import { METERING_ENGINE } from './metering.constants.js';
import { runMeteringGuardLast } from './metering-guard-order.js';

/**
 * Finds every `@Meter()` at start-up and checks its dimensions against the service's rules and the declared
 * `dimensions`, so a typo fails the app before it listens, naming `Controller.method`, instead of billing nothing.
 * Before that, while Nest has yet to build its routes, it makes the metering guard the last guard of each route.
 */
@Injectable()
export class MeteringExplorer implements OnModuleInit {
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
    @Inject(METERING_ENGINE) private readonly engine: MeteringEngine,
  ) {
    // Providers are created before the routes are built (onModuleInit is too late: the routes read their guards).
    const controllers = discovery
      .getControllers()
      .map((wrapper) => wrapper.metatype as Type | null | undefined)
      .filter((controller): controller is Type => typeof controller === 'function');
    runMeteringGuardLast(controllers, scanner);
  }

  onModuleInit(): void {
    for (const wrapper of this.discovery.getControllers()) {
      const controller = wrapper.metatype as Type | null | undefined;
      if (typeof controller !== 'function') continue;
      this.check(controller, controller.name);
      const prototype = controller.prototype as Record<string, unknown>;
      for (const method of this.scanner.getAllMethodNames(prototype)) {
        const handler = prototype[method];
        if (typeof handler === 'function')
          this.check(handler as (...args: never[]) => unknown, `${controller.name}.${method}`);
      }
    }
  }

  private check(target: Type | ((...args: never[]) => unknown), where: string): void {
    for (const { dimension } of this.reflector.get(MeterMetadata, target) ?? []) {
      this.engine.assertDimension(dimension, where);
    }
  }
}
