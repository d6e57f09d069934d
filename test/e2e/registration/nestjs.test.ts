import type { AddressInfo } from 'node:net';
import { RegistrationModule } from '@meterkit/nestjs';
import { Controller, Get, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { describeRegistrationScenarios } from './scenarios.js';

@Controller()
class WelcomeController {
  @Get('welcome')
  welcome(): string {
    return 'welcome';
  }
}

describeRegistrationScenarios('Nest on platform-express', async (options) => {
  @Module({ imports: [RegistrationModule.forRoot(options)], controllers: [WelcomeController] })
  class AppModule {}
  const app = await NestFactory.create(AppModule, new ExpressAdapter(), { logger: false });
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      app.getHttpServer().closeAllConnections();
      await app.close();
    },
  };
});

describeRegistrationScenarios('Nest on platform-fastify', async (options) => {
  @Module({ imports: [RegistrationModule.forRoot(options)], controllers: [WelcomeController] })
  class AppModule {}
  const app = await NestFactory.create(AppModule, new FastifyAdapter(), { logger: false });
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      app.getHttpServer().closeAllConnections();
      await app.close();
    },
  };
});
