import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { expressVersions, HOUR_MILLIS, startStack } from './fixture.js';

describe.each(expressVersions)('usage allocations on $name, billed through the emulator', ({ express }) => {
  const running: Awaited<ReturnType<typeof startStack>>[] = [];
  afterEach(async () => {
    for (const stack of running.splice(0)) await stack.stop();
  });

  it('bills one record for the hour, allocated per project as the meter tagged each request', async () => {
    // Prepare: tags from the route parameter; an invalid project name is billed untagged.
    const stack = await startStack();
    running.push(stack);
    const dropped: string[] = [];
    stack.metering.engine.events.on('usage.tags-dropped', (e) => dropped.push(e.detail));
    const app = express();
    app.get(
      '/v1/projects/:project/forecast',
      (req, _res, next) => {
        (req as unknown as { customer: unknown }).customer = {
          awsAccountId: '111122223333',
          licenseArn: 'arn:aws:license-manager::111122223333:license:l-acme00000000000001',
          productCode: 'prod-meterkit-demo',
        };
        next();
      },
      stack.metering.meter({
        dimension: 'api_calls',
        tags: (req) => ({ project: String(req.params.project) }),
      }),
      (_req, res) => {
        res.json({ forecast: 'sunny' });
      },
    );
    // Act
    for (const project of ['alpha', 'alpha', 'beta', 'no?such'])
      await request(app)
        .get(`/v1/projects/${encodeURIComponent(project)}/forecast`)
        .expect(200);
    await stack.clock.advance(HOUR_MILLIS + 120_000);
    await stack.metering.flush();
    // Assess
    const records = stack.emulator.ledger.records();
    expect(records.map((r) => r.quantity)).toEqual([4]);
    expect(records[0]?.allocations).toEqual([
      { AllocatedUsageQuantity: 1 },
      { AllocatedUsageQuantity: 2, Tags: [{ Key: 'project', Value: 'alpha' }] },
      { AllocatedUsageQuantity: 1, Tags: [{ Key: 'project', Value: 'beta' }] },
    ]);
    expect(dropped).toHaveLength(1);
  });
});
