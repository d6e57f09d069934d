import { MeterUsageSink } from '@meterkit/aws-marketplace';
import { silentLogger } from '@meterkit/core';
import { configurationErrorOf } from '@meterkit/core/testing';
import { type Emulator, startEmulator } from '@meterkit/emulator';
import { createMetering } from '@meterkit/express';
import { Meter, MeteringModule } from '@meterkit/nestjs';
import { Controller, Module, Post } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import express from 'express';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const PRODUCT = 'prod-instance-adapters';
let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator({ port: 0, products: [{ productCode: PRODUCT, dimensions: ['requests'] }] });
});
afterAll(() => emulator.close());

function sink(accessKeyId: string): MeterUsageSink {
  return new MeterUsageSink({
    clientConfig: {
      endpoint: emulator.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId, secretAccessKey: 'instance-secret' },
    },
    logger: silentLogger,
  });
}

describe('adapters with the MeterUsage sink (instance mode)', () => {
  it('Express meters every served request for this instance with no customer resolver', async () => {
    const metering = createMetering({
      sink: sink('AKIDEXPRESSTASK'),
      // Explicit: the adapter's default is a SQLite file in the working directory.
      store: 'memory',
      productCode: PRODUCT,
      logger: silentLogger,
    });
    const app = express();
    app.get('/work', metering.meter('requests'), (_req, res) => void res.json({ ok: true }));
    const server = app.listen(0);
    await request(server).get('/work').expect(200);
    await request(server).get('/work').expect(200);
    await metering.shutdown({ server });
    const billed = emulator.ledger.records().filter((r) => r.instanceId === 'AKIDEXPRESSTASK');
    expect(billed.map((r) => [r.operation, r.dimension, r.quantity])).toEqual([
      ['MeterUsage', 'requests', 2],
    ]);
  });

  it('Express refuses a customer resolver next to the instance sink', () => {
    const error = configurationErrorOf(() =>
      createMetering({
        sink: sink('AKIDX'),
        store: 'memory',
        productCode: PRODUCT,
        customer: () => undefined,
        autoStart: false,
      }),
    );
    expect(error).toMatchObject({ code: 'ERR_METERING_CONFLICTING_OPTIONS', field: 'customer' });
  });

  it('Nest meters every served request for this instance with no customer resolver', async () => {
    @Controller()
    class WorkController {
      @Post('work')
      @Meter('requests')
      work() {
        return { ok: true };
      }
    }
    @Module({
      imports: [
        MeteringModule.forRoot({
          sink: sink('AKIDNESTTASK'),
          store: 'memory',
          productCode: PRODUCT,
          logger: silentLogger,
        }),
      ],
      controllers: [WorkController],
    })
    class AppModule {}
    const app = await NestFactory.create(AppModule, { logger: false, abortOnError: false });
    await app.listen(0, '127.0.0.1');
    await request(app.getHttpServer()).post('/work').expect(201);
    await app.close();
    const billed = emulator.ledger.records().filter((r) => r.instanceId === 'AKIDNESTTASK');
    expect(billed.map((r) => [r.operation, r.dimension, r.quantity])).toEqual([
      ['MeterUsage', 'requests', 1],
    ]);
  });

  it('Nest refuses a customer resolver next to the instance sink', async () => {
    @Module({
      imports: [
        MeteringModule.forRoot({
          sink: sink('AKIDY'),
          store: 'memory',
          productCode: PRODUCT,
          customer: () => undefined,
          logger: silentLogger,
        }),
      ],
    })
    class AppModule {}
    await expect(
      NestFactory.createApplicationContext(AppModule, { logger: false, abortOnError: false }),
    ).rejects.toMatchObject({ code: 'ERR_METERING_CONFLICTING_OPTIONS' });
  });
});
