// shutdown({ server }) closes the HTTP server first: requests in flight finish and count, those past the timeout are cut.
import { once } from 'node:events';
import { request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { listen } from './helpers/listen.js';
import { setup } from './helpers/setup.js';

const ACME = '111122223333';

function get(server: Server, path: string, headers: Record<string, string>): Promise<IncomingMessage> {
  const req = httpRequest({ port: (server.address() as AddressInfo).port, host: '127.0.0.1', path, headers });
  req.end();
  return once(req, 'response').then(([response]) => response as IncomingMessage);
}

describe('shutdown({ server })', () => {
  it('waits for a request in flight, counts it, then sends the open hour', async () => {
    const { app, metering, sink, clock } = setup();
    let release: () => void = () => undefined;
    const handlerStarted = new Promise<void>((started) => {
      app.get('/slow', metering.meter('api_calls'), (_req, res) => {
        release = () => res.end('done');
        started();
      });
    });
    const server = await listen(app);
    const response = get(server, '/slow', { 'x-api-key': 'key-acme' });
    await handlerStarted;
    const shutdown = metering.shutdown({ server });
    release();
    const body = await (await response).toArray();
    await clock.advance(100); // the idle sweep closes the keep-alive connection the response left open
    const report = await shutdown;
    expect(Buffer.concat(body).toString()).toBe('done');
    expect(report.accepted).toBe(1);
    expect([...sink.ledger.values()].map((b) => [b.record.key.awsAccountId, b.record.quantity])).toEqual([
      [ACME, 1],
    ]);
  });

  it('cuts requests still running after closeTimeoutMillis, which count nothing', async () => {
    const { app, metering, sink, clock } = setup();
    const handlerStarted = new Promise<void>((started) => {
      app.get('/hangs', metering.meter('api_calls'), () => started());
    });
    const server = await listen(app);
    const response = get(server, '/hangs', { 'x-api-key': 'key-acme' }).catch((error: Error) => error);
    await handlerStarted;
    const shutdown = metering.shutdown({ server, timeoutMillis: 10_000, closeTimeoutMillis: 2_000 });
    await clock.advance(2_000);
    expect(await response).toBeInstanceOf(Error);
    await shutdown;
    expect(sink.ledger.size).toBe(0);
  });
});
