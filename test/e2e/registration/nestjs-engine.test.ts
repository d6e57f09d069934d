import type { AddressInfo } from 'node:net';
import { MemoryRegistry, silentLogger } from '@meterkit/core';
import { InMemorySink } from '@meterkit/core/testing';
import { startEmulator } from '@meterkit/emulator';
import { MeteringModule, MeteringService, RegistrationModule } from '@meterkit/nestjs';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { describe, expect, it } from 'vitest';

const PRODUCT = 'prod-registration-engine';

describe('RegistrationModule next to MeteringModule', () => {
  it("tells the MeteringModule's engine about a new buyer without an engine option", async () => {
    const emulator = await startEmulator({
      port: 0,
      products: [{ productCode: PRODUCT, dimensions: ['api_calls'] }],
    });
    const registry = new MemoryRegistry();
    @Module({
      imports: [
        RegistrationModule.forRoot({
          registry,
          productCodes: PRODUCT,
          logger: silentLogger,
          clientConfig: {
            endpoint: emulator.endpoint,
            region: 'us-east-1',
            credentials: { accessKeyId: 'AKIDEMULATOR', secretAccessKey: 'emulator-secret' },
            maxAttempts: 1,
          },
        }),
        MeteringModule.forRoot({
          productCode: PRODUCT,
          sink: new InMemorySink(),
          logger: silentLogger,
          customer: () => undefined,
        }),
      ],
    })
    class AppModule {}
    const app = await NestFactory.create(AppModule, new ExpressAdapter(), {
      logger: ['error'],
      abortOnError: false,
    });
    await app.listen(0, '127.0.0.1');
    try {
      const { port } = app.getHttpServer().address() as AddressInfo;
      const token = emulator.control.issueToken({ productCode: PRODUCT });
      const response = await fetch(`http://127.0.0.1:${port}/marketplace/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ 'x-amzn-marketplace-token': token.token }),
      });
      expect(response.status).toBe(200);
      const engine = app.get(MeteringService).engine;
      const registered = await registry.list();
      expect(registered.map((entry) => engine.subscriptionStateOf(entry.customer))).toEqual(['registered']);
    } finally {
      app.getHttpServer().closeAllConnections();
      await app.close();
      await emulator.close();
    }
  });
});
