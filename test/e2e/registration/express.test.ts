import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type RegistrationRouterOptions, registrationRouter } from '@meterkit/express';
import express5 from 'express';
import express4 from 'express4';
import { describeRegistrationScenarios } from './scenarios.js';

async function listen(app: express5.Express): Promise<{ url: string; close: () => Promise<void> }> {
  const server = app.listen(0, '127.0.0.1') as Server;
  await new Promise((resolve) => server.once('listening', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describeRegistrationScenarios('Express 5 (the router reads the form itself)', async (options) => {
  const app = express5();
  const router = registrationRouter(options as unknown as RegistrationRouterOptions);
  app.use(router);
  const running = await listen(app);
  return {
    url: running.url,
    close: async () => {
      router.close();
      await running.close();
    },
  };
});

describeRegistrationScenarios('Express 4 behind express.urlencoded()', async (options) => {
  const app = express4();
  app.use(express4.urlencoded({ extended: false, limit: '1mb' }));
  const router = registrationRouter({
    ...(options as unknown as RegistrationRouterOptions),
    maxBodyBytes: 16_384,
  });
  app.use(router);
  const running = await listen(app as unknown as express5.Express);
  return {
    url: running.url,
    close: async () => {
      router.close();
      await running.close();
    },
  };
});
