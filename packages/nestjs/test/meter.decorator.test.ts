import { MeteringConfigurationError } from '@meterkit/core';
import { Controller, Get } from '@nestjs/common';
import { GUARDS_METADATA, INTERCEPTORS_METADATA } from '@nestjs/common/constants.js';
import { describe, expect, it } from 'vitest';
import { Meter, MeteringGuard, MeteringInterceptor, MeterMetadata, SkipMeter } from '../src/index.js';

function defineBroken(spec: Parameters<typeof Meter>[0]): unknown {
  try {
    class BillingController {
      @Meter(spec)
      export() {}
    }
    return BillingController;
  } catch (error) {
    return error;
  }
}

describe('@Meter()', () => {
  it('keeps stacked dimensions in the order they are written', () => {
    class ReportsController {
      @Meter('api_calls')
      @Meter({ dimension: 'reports', quantity: 2 })
      create() {}
    }
    const meters = Reflect.getMetadata(MeterMetadata.KEY, ReportsController.prototype.create);
    expect(meters.map((m: { dimension: string; quantity: number }) => [m.dimension, m.quantity])).toEqual([
      ['api_calls', 1],
      ['reports', 2],
    ]);
  });

  it('attaches the guard once to the route it marks, however many times it is stacked', () => {
    class ReportsController {
      @Meter('api_calls')
      @Meter('reports')
      create() {}
      unmetered() {}
    }
    expect(Reflect.getMetadata(GUARDS_METADATA, ReportsController.prototype.create)).toEqual([MeteringGuard]);
    expect(Reflect.getMetadata(INTERCEPTORS_METADATA, ReportsController.prototype.create)).toBeUndefined();
    expect(Reflect.getMetadata(GUARDS_METADATA, ReportsController.prototype.unmetered)).toBeUndefined();
  });

  it('attaches the interceptor to a route that counts from the result, stacked over a guarded one too', () => {
    class RowsController {
      @Meter({ dimension: 'rows', quantity: (_context, result) => (result as unknown[]).length })
      rows() {}
      @Meter({ dimension: 'rows', quantity: (_context, result) => (result as unknown[]).length })
      @Meter('api_calls')
      both() {}
    }
    expect(Reflect.getMetadata(INTERCEPTORS_METADATA, RowsController.prototype.rows)).toEqual([
      MeteringInterceptor,
    ]);
    expect(Reflect.getMetadata(GUARDS_METADATA, RowsController.prototype.rows)).toBeUndefined();
    expect(Reflect.getMetadata(INTERCEPTORS_METADATA, RowsController.prototype.both)).toEqual([
      MeteringInterceptor,
    ]);
  });

  it('refuses a dimension listed twice on one route, naming Controller.method', () => {
    let twice: unknown;
    try {
      class BillingController {
        @Meter('api_calls', 'api_calls')
        export() {}
      }
      twice = BillingController;
    } catch (caught) {
      twice = caught;
    }
    expect(twice).toBeInstanceOf(MeteringConfigurationError);
    expect((twice as MeteringConfigurationError).field).toBe('@Meter() on BillingController.export');
  });

  it('refuses a negative or fractional quantity at class definition', () => {
    expect(defineBroken({ dimension: 'rows', quantity: -1 })).toBeInstanceOf(MeteringConfigurationError);
    expect(defineBroken({ dimension: 'rows', quantity: 1.5 })).toBeInstanceOf(MeteringConfigurationError);
  });

  it('refuses an unknown key in its options', () => {
    const error = defineBroken({ dimension: 'rows', quantiy: 2 } as never);
    expect((error as Error).message).toContain('quantiy');
  });

  it("joins `'dim', { tags }` into one dimension with those options", () => {
    const tags = () => ({ project: 'alpha' });
    class ProjectsController {
      @Meter('api_calls', { tags }, 'reports')
      create() {}
    }
    const meters = Reflect.getMetadata(MeterMetadata.KEY, ProjectsController.prototype.create);
    expect(meters.map((m: { dimension: string; tags: unknown }) => [m.dimension, m.tags])).toEqual([
      ['api_calls', tags],
      ['reports', undefined],
    ]);
  });

  it('refuses tags that are not a function, at class definition', () => {
    const error = defineBroken({ dimension: 'rows', tags: { project: 'alpha' } } as never);
    expect(error).toBeInstanceOf(MeteringConfigurationError);
    expect((error as MeteringConfigurationError).field).toBe('@Meter() on BillingController.export');
  });

  it('meters through the interceptor when tags read the result', () => {
    class RowsController {
      @Meter({ dimension: 'rows', tags: (_context, result) => ({ size: String(result) }) })
      rows() {}
    }
    expect(Reflect.getMetadata(INTERCEPTORS_METADATA, RowsController.prototype.rows)).toEqual([
      MeteringInterceptor,
    ]);
  });

  it('marks a whole controller, and @SkipMeter() reads true without an argument', () => {
    @Meter('api_calls')
    @Controller()
    class ApiController {
      @SkipMeter()
      @Get('health')
      health() {}
    }
    expect(Reflect.getMetadata(MeterMetadata.KEY, ApiController)).toHaveLength(1);
    expect(Reflect.getMetadata(SkipMeter.KEY, ApiController.prototype.health)).toBe(true);
  });

  it('marks a dimension as using the result when its quantity or condition declares a result parameter', () => {
    class RowsController {
      @Meter({ dimension: 'rows', quantity: (_context, result) => (result as unknown[]).length })
      @Meter({ dimension: 'reports', when: (_context, result) => result !== null })
      @Meter({ dimension: 'export_kb', quantity: (context) => (context === undefined ? 0 : 1) })
      @Meter('api_calls')
      list() {}
    }
    const meters = Reflect.getMetadata(MeterMetadata.KEY, RowsController.prototype.list);
    expect(
      meters.map((m: { dimension: string; usesResult: boolean }) => [m.dimension, m.usesResult]),
    ).toEqual([
      ['rows', true],
      ['reports', true],
      ['export_kb', false],
      ['api_calls', false],
    ]);
  });

  it('takes an explicit usesResult over the inferred one, and refuses a non-boolean', () => {
    class RowsController {
      @Meter({
        dimension: 'rows',
        quantity: (...args: unknown[]) => (args[1] as unknown[]).length,
        usesResult: true,
      })
      list() {}
    }
    expect(Reflect.getMetadata(MeterMetadata.KEY, RowsController.prototype.list)[0].usesResult).toBe(true);
    expect(defineBroken({ dimension: 'rows', usesResult: 'yes' } as never)).toBeInstanceOf(
      MeteringConfigurationError,
    );
  });
});
