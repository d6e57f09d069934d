import { silentLogger } from '@meterkit/core';
import { type Emulator, startEmulator } from '@meterkit/emulator';
import { CONTAINER_REGISTRATION, ContainerRegistrationModule } from '@meterkit/nestjs';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator({
    port: 0,
    products: [
      { productCode: 'prod-nest-container', dimensions: ['tasks'] },
      { productCode: 'prod-nest-unpaid', dimensions: ['tasks'], entitled: false },
    ],
    faults: { quota: false },
  });
});
afterAll(() => emulator.close());

function appModule(productCode: string, nonce: string) {
  @Module({
    imports: [
      ContainerRegistrationModule.forRootAsync({
        useFactory: () => ({
          productCode,
          nonce,
          verificationKey: emulator.publicKey.pem,
          logger: silentLogger,
          clientConfig: {
            endpoint: emulator.endpoint,
            region: 'us-east-1',
            credentials: { accessKeyId: 'AKIDNEST', secretAccessKey: 'nest-secret' },
          },
        }),
      }),
    ],
  })
  class AppModule {}
  return AppModule;
}

describe('ContainerRegistrationModule', () => {
  it('lets the app bootstrap once RegisterUsage has registered the container', async () => {
    const app = await NestFactory.createApplicationContext(appModule('prod-nest-container', 'nest-1'), {
      logger: false,
      abortOnError: false,
    });
    expect(app.get(CONTAINER_REGISTRATION)).toMatchObject({ status: 'registered', verified: true });
    await app.close();
  });

  it('makes bootstrap reject when the buyer is not entitled', async () => {
    await expect(
      NestFactory.createApplicationContext(appModule('prod-nest-unpaid', 'nest-2'), {
        logger: false,
        abortOnError: false,
      }),
    ).rejects.toMatchObject({ name: 'ContainerRegistrationError', reason: 'not-entitled' });
  });
});
