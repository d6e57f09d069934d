import { Meter } from '@meterkit/nestjs';
import { Controller, Get, Param } from '@nestjs/common';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { ACME, type Harness, platforms, startHarness } from './fixture.js';

@Controller('v1/projects')
class ProjectController {
  @Meter('api_calls', {
    tags: (ctx) => ({
      project: ctx.switchToHttp().getRequest<{ params: { project: string } }>().params.project,
    }),
  })
  @Get(':project/forecast')
  forecast(@Param('project') project: string) {
    return { project, forecast: 'sunny' };
  }

  @Meter({
    dimension: 'rows',
    quantity: 2,
    tags: (_ctx, result) => ({ size: (result as { size: string }).size }),
  })
  @Get(':project/rows')
  rows() {
    return { size: 'small' };
  }
}

describe.each(platforms)('usage allocations on Nest (%s), billed through the emulator', (platform) => {
  let harness: Harness | undefined;
  afterEach(async () => {
    await harness?.close();
    harness = undefined;
  });

  it("bills one record for the hour, allocated per tag set as @Meter's tags gave them", async () => {
    // Prepare
    harness = await startHarness(platform, { controllers: [ProjectController] });
    const http = () => request(harness?.app.getHttpServer());
    // Act
    for (const project of ['alpha', 'beta', 'alpha'])
      await http().get(`/v1/projects/${project}/forecast`).set('x-api-key', 'key-acme').expect(200);
    await http().get('/v1/projects/alpha/rows').set('x-api-key', 'key-acme').expect(200);
    await harness.close();
    // Assess
    const records = harness.emulator.ledger.records();
    const byDimension = Object.fromEntries(records.map((r) => [r.dimension, [r.quantity, r.allocations]]));
    expect(byDimension).toEqual({
      api_calls: [
        3,
        [
          { AllocatedUsageQuantity: 2, Tags: [{ Key: 'project', Value: 'alpha' }] },
          { AllocatedUsageQuantity: 1, Tags: [{ Key: 'project', Value: 'beta' }] },
        ],
      ],
      rows: [2, [{ AllocatedUsageQuantity: 2, Tags: [{ Key: 'size', Value: 'small' }] }]],
    });
    expect(harness.billed(ACME, 'api_calls')).toBe(3);
  });
});
