import { once } from 'node:events';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { buildApp, expressVersions, startStack } from './fixture.js';

const ACME = '111122223333';

describe.each(expressVersions)('shutdown on $name', ({ express }) => {
  it('lets a request in flight finish, counts it, and sends the open hour to the emulator', async () => {
    const stack = await startStack();
    let finishResponse: () => void = () => undefined;
    const streaming = new Promise<void>((resolve) => {
      finishResponse = () => undefined;
      const app = buildApp(express, stack.metering, {
        onStream: (res) => {
          finishResponse = () => res.end('last chunk\n');
          resolve();
        },
      });
      void stack.listen(app).then(({ server, url }) => {
        stack.server = server;
        const req = httpRequest(`${url}/v1/stream`, { headers: { 'x-api-key': 'demo-key-acme' } });
        req.end();
        stack.response = once(req, 'response').then(([response]) => (response as IncomingMessage).toArray());
      });
    });
    await streaming;
    const shuttingDown = stack.metering.shutdown({ server: stack.server });
    expect(stack.server?.listening).toBe(false);
    finishResponse();
    await stack.response;
    // The drain closes the keep-alive connection the response left open on its next sweep.
    await stack.clock.advance(100);
    const report = await shuttingDown;
    expect(report.accepted).toBe(1);
    expect(stack.billed()).toEqual({ [`${ACME}/api_calls@10:00`]: 1 });
    await stack.stop();
  });
});
