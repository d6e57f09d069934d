// A Nest app metered by @meterkit/nestjs, shut down by Nest's enableShutdownHooks (SIGTERM), for the process tests.
// Decorators are applied by hand: this file runs on plain Node.
import 'reflect-metadata';
import { Meter, MeteringModule, MeteringService } from '@meterkit/nestjs';
import { Controller, Get, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { customerOf, engineOptions, logger, reportEvents, say, sink } from './shared.mjs';

class ApiController {
  api() {
    return { ok: true };
  }
}
const api = Object.getOwnPropertyDescriptor(ApiController.prototype, 'api');
Meter('api_calls')(ApiController.prototype, 'api', api);
Get('api')(ApiController.prototype, 'api', api);
Controller()(ApiController);

class AppModule {}
Module({
  imports: [
    MeteringModule.forRoot({
      ...engineOptions(),
      sink: await sink(),
      schedule: { checkpoint: 100, dispatch: 200 },
      customer: (context) => customerOf(context.switchToHttp().getRequest().headers['x-customer']),
    }),
  ],
  controllers: [ApiController],
})(AppModule);

const app = await NestFactory.create(AppModule, {
  logger: {
    log: () => undefined,
    warn: (message) => logger.warn(String(message)),
    error: (message) => logger.error(String(message)),
  },
});
app.enableShutdownHooks();
await app.listen(0, '127.0.0.1');
reportEvents(app.get(MeteringService).events);
say({ kind: 'ready', port: app.getHttpServer().address().port });
