// MeteringExplorer in real Nest apps: the metering guard runs last, bad dimensions fail the start, and the Nest
// behaviour the guard order relies on is pinned here, so a Nest release that changes it fails these tests.
import { MeteringConfigurationError } from '@meterkit/core';
import {
  type CanActivate,
  Controller,
  type ExecutionContext,
  Get,
  Injectable,
  type OnModuleInit,
  type Type,
  UseGuards,
} from '@nestjs/common';
import { GUARDS_METADATA } from '@nestjs/common/constants.js';
import { Test } from '@nestjs/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { Meter } from '../src/index.js';
import { ACME, INITECH, startApp, type TestApp } from './support/nest-app.js';

const ran: string[] = [];

@Injectable()
class FirstGuard implements CanActivate {
  canActivate(): boolean {
    ran.push('first');
    return true;
  }
}

@Injectable()
class SecondGuard implements CanActivate {
  canActivate(): boolean {
    ran.push('second');
    return true;
  }
}

/** Authentication: attaches Initech to the request. */
@Injectable()
class AuthGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    context.switchToHttp().getRequest<{ customer?: unknown }>().customer = INITECH;
    return true;
  }
}

const customerFromAuth = (context: ExecutionContext) =>
  context.switchToHttp().getRequest<{ customer?: typeof INITECH }>().customer;

/** Swaps the two guards of `controller.prototype.route`, from its constructor or from onModuleInit. */
function swapper(controller: Type, when: 'constructor' | 'onModuleInit'): Type {
  const swap = () => {
    const handler = (controller.prototype as Record<string, object>).route as object;
    const guards = Reflect.getMetadata(GUARDS_METADATA, handler) as unknown[];
    Reflect.defineMetadata(GUARDS_METADATA, [...guards].reverse(), handler);
  };
  @Injectable()
  class Swapper implements OnModuleInit {
    constructor() {
      if (when === 'constructor') swap();
    }
    onModuleInit(): void {
      if (when === 'onModuleInit') swap();
    }
  }
  return Swapper;
}

async function guardOrderWith(controller: Type, when: 'constructor' | 'onModuleInit'): Promise<string[]> {
  const moduleRef = await Test.createTestingModule({
    controllers: [controller],
    providers: [swapper(controller, when)],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.listen(0, '127.0.0.1');
  try {
    ran.length = 0;
    await fetch(`${(await app.getUrl()).replace('[::1]', '127.0.0.1')}/route`);
    return [...ran];
  } finally {
    await app.close();
  }
}

let running: TestApp | undefined;
afterEach(async () => {
  await running?.app.close();
  running = undefined;
});

describe('Nest behaviour the metering guard order relies on', () => {
  it("@UseGuards() keeps a route's guards under GUARDS_METADATA, the decorator written above appended after", () => {
    class Routes {
      @UseGuards(SecondGuard)
      @UseGuards(FirstGuard)
      route() {}
    }
    expect(Reflect.getMetadata(GUARDS_METADATA, Routes.prototype.route)).toEqual([FirstGuard, SecondGuard]);
  });

  it('reads the guards when it builds the routes: after the providers are created', async () => {
    @Controller()
    class SwappedWhileCreating {
      @UseGuards(FirstGuard, SecondGuard)
      @Get('route')
      route() {}
    }
    expect(await guardOrderWith(SwappedWhileCreating, 'constructor')).toEqual(['second', 'first']);
  });

  it('reads the guards when it builds the routes: before onModuleInit', async () => {
    @Controller()
    class SwappedTooLate {
      @UseGuards(FirstGuard, SecondGuard)
      @Get('route')
      route() {}
    }
    expect(await guardOrderWith(SwappedTooLate, 'onModuleInit')).toEqual(['first', 'second']);
  });
});

describe('MeteringExplorer', () => {
  it("runs the metering guard after a handler's authentication written below @Meter()", async () => {
    @Controller()
    class ReportsController {
      @Meter('reports')
      @UseGuards(AuthGuard)
      @Get('reports')
      reports() {}
    }
    running = await startApp([ReportsController], { customer: customerFromAuth });
    await fetch(`${running.url}/reports`);
    expect(await running.billed()).toEqual([[INITECH.customerIdentifier, 'reports', 1]]);
  });

  it("moves a metered controller's guard onto its handlers, after the controller's own authentication", async () => {
    @UseGuards(AuthGuard)
    @Meter('api_calls')
    @Controller()
    class ApiController {
      @Get('calls')
      calls() {}
    }
    running = await startApp([ApiController], { customer: customerFromAuth });
    await fetch(`${running.url}/calls`);
    expect(await running.billed()).toEqual([[INITECH.customerIdentifier, 'api_calls', 1]]);
  });

  it('fails the start, naming Controller.method, for a dimension the module does not declare', async () => {
    @Controller()
    class TypoController {
      @Meter('api_cals')
      @Get('calls')
      calls() {}
    }
    const started = startApp([TypoController], { dimensions: ['api_calls'], customer: () => ACME });
    await expect(started).rejects.toThrow(MeteringConfigurationError);
    await expect(started).rejects.toThrow('TypoController.calls');
  });
});
