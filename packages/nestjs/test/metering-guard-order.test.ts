import { Controller, type ExecutionContext, Get, UseGuards } from '@nestjs/common';
import { GUARDS_METADATA } from '@nestjs/common/constants.js';
import { MetadataScanner } from '@nestjs/core';
import { describe, expect, it } from 'vitest';
import { Meter, MeteringGuard, SkipMeter } from '../src/index.js';
import { runMeteringGuardLast } from '../src/metering-guard-order.js';

class AuthGuard {
  canActivate(_context: ExecutionContext): boolean {
    return true;
  }
}

const guardsOf = (target: object): unknown => Reflect.getMetadata(GUARDS_METADATA, target);

describe('runMeteringGuardLast()', () => {
  it("moves the handler's metering guard after the guards written above it", () => {
    @Controller()
    class ReportsController {
      @UseGuards(AuthGuard)
      @Meter('reports')
      @Get()
      create() {}
    }
    expect(guardsOf(ReportsController.prototype.create)).toEqual([MeteringGuard, AuthGuard]);
    runMeteringGuardLast([ReportsController], new MetadataScanner());
    expect(guardsOf(ReportsController.prototype.create)).toEqual([AuthGuard, MeteringGuard]);
  });

  it("moves a metered controller's guard onto its handlers, after theirs, but not onto skipped ones", () => {
    @Meter('api_calls')
    @Controller()
    class ApiController {
      @UseGuards(AuthGuard)
      @Get('calls')
      calls() {}
      @Get('plain')
      plain() {}
      @SkipMeter()
      @Get('free')
      free() {}
    }
    runMeteringGuardLast([ApiController], new MetadataScanner());
    expect(guardsOf(ApiController)).toEqual([]);
    expect(guardsOf(ApiController.prototype.calls)).toEqual([AuthGuard, MeteringGuard]);
    expect(guardsOf(ApiController.prototype.plain)).toEqual([MeteringGuard]);
    expect(guardsOf(ApiController.prototype.free)).toBeUndefined();
  });

  it('guards the handlers of a controller that inherits its metering from another controller, once', () => {
    @Meter('api_calls')
    @Controller('base')
    class BaseController {
      @Get()
      list() {}
    }
    @Controller('derived')
    class DerivedController extends BaseController {
      @Get('more')
      more() {}
    }
    const scanner = new MetadataScanner();
    runMeteringGuardLast([BaseController, DerivedController], scanner);
    runMeteringGuardLast([BaseController, DerivedController], scanner);
    expect(guardsOf(DerivedController)).toEqual([]);
    expect(guardsOf(BaseController.prototype.list)).toEqual([MeteringGuard]);
    expect(guardsOf(DerivedController.prototype.more)).toEqual([MeteringGuard]);
  });
});
