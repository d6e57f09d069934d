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

// The same app on each HTTP platform Nest supports: the route must behave alike on both.
const platforms = [
  ['platform-express', () => new ExpressAdapter()],
  ['platform-fastify', () => new FastifyAdapter()],
] as const;

for (const [platform, adapter] of platforms) {
  describeRegistrationScenarios(`Nest on ${platform}`, async (options) => {
    @Module({ imports: [RegistrationModule.forRoot(options)], controllers: [WelcomeController] })
    class AppModule {}
    const app = await NestFactory.create(AppModule, adapter(), { logger: false });
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
}
