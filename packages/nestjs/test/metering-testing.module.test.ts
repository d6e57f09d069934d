// MeteringTestingModule: a real Nest app metering into an injectable in-memory sink on a manual clock.
import type { CustomerRef } from '@meterkit/core';
import { InMemorySink, ManualClock } from '@meterkit/core/testing';
import { Meter, MeteringService } from '@meterkit/nestjs';
import { MeteringTestingModule } from '@meterkit/nestjs/testing';
import { Controller, Get, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { afterEach, describe, expect, it } from 'vitest';

const ACME: CustomerRef = { customerIdentifier: 'cust-acme-0001' };

@Controller()
class ApiController {
  @Get('calls')
  @Meter('api_calls')
  calls(): { ok: true } {
    return { ok: true };
  }
}

let app: INestApplication | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function start(): Promise<{ app: INestApplication; url: string }> {
  const moduleRef = await Test.createTestingModule({
    imports: [MeteringTestingModule.forRoot({ dimensions: ['api_calls'], customer: () => ACME })],
    controllers: [ApiController],
  }).compile();
  app = moduleRef.createNestApplication({ logger: false });
  await app.listen(0, '127.0.0.1');
  return { app, url: await app.getUrl() };
}

describe('MeteringTestingModule', () => {
  it('bills metered calls into the injectable InMemorySink once the manual clock closes the hour', async () => {
    const { app, url } = await start();
    const clock = app.get(ManualClock);
    const hourStart = clock.now() - (clock.now() % 3_600_000);
    for (let i = 0; i < 3; i++) expect((await fetch(`${url}/calls`)).status).toBe(200);
    await clock.advance(3_600_000 + 120_000);
    await app.get(MeteringService).flush();
    const billed = [...app.get(InMemorySink).ledger.values()].map(({ record }) => [
      record.key.customerIdentifier,
      record.key.dimension,
      record.quantity,
      record.hourStart,
    ]);
    expect(billed).toEqual([[ACME.customerIdentifier, 'api_calls', 3, hourStart]]);
  });

  it('bills nothing while the hour is open: time moves only when the test moves it', async () => {
    const { app, url } = await start();
    await fetch(`${url}/calls`);
    await app.get(MeteringService).flush();
    expect(app.get(InMemorySink).ledger.size).toBe(0);
  });
});
