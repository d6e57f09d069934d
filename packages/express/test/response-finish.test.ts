import { once } from 'node:events';
import {
  createServer,
  request as httpRequest,
  IncomingMessage,
  type Server,
  ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { holdFinishChannels, whenFinished } from '../src/response-finish.js';

async function serve(handler: (res: ServerResponse) => void): Promise<Server> {
  const server = createServer((_req, res) => handler(res));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

async function get(server: Server): Promise<void> {
  const req = httpRequest({ port: (server.address() as AddressInfo).port, host: '127.0.0.1', agent: false });
  req.end();
  const [response] = (await once(req, 'response')) as [IncomingMessage];
  await response.toArray();
}

describe('whenFinished()', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const cleanup of cleanups.splice(0)) cleanup();
  });

  it('tells the handler once when a response of the HTTP server finishes', async () => {
    cleanups.push(holdFinishChannels());
    const finished: ServerResponse[] = [];
    const server = await serve((res) => {
      whenFinished(res, { finished: (r) => finished.push(r) });
      res.end('ok');
    });
    await get(server);
    await get(server);
    server.close();
    expect(finished).toHaveLength(2);
    expect(new Set(finished).size).toBe(2);
  });

  it('falls back to a finish listener for a response whose request started before the hold, still once', async () => {
    let calls = 0;
    const server = await serve((res) => {
      cleanups.push(holdFinishChannels());
      whenFinished(res, { finished: () => calls++ });
      res.end('ok');
    });
    await get(server);
    server.close();
    expect(calls).toBe(1);
  });

  it('falls back to a finish listener for a response no HTTP server made (serverless adapters, injection)', () => {
    cleanups.push(holdFinishChannels());
    const res = new ServerResponse(new IncomingMessage(new Socket()));
    let calls = 0;
    whenFinished(res, { finished: () => calls++ });
    res.emit('finish');
    expect(calls).toBe(1);
  });

  it('never tells the handler about a response aborted before it finished', async () => {
    cleanups.push(holdFinishChannels());
    let calls = 0;
    let closed: () => void = () => undefined;
    const abandoned = new Promise<void>((resolve) => {
      closed = resolve;
    });
    const server = await serve((res) => {
      whenFinished(res, { finished: () => calls++ });
      res.write('partial');
      res.on('close', closed);
    });
    const req = httpRequest({
      port: (server.address() as AddressInfo).port,
      host: '127.0.0.1',
      agent: false,
    });
    req.on('response', (response) => response.once('data', () => req.destroy()));
    req.on('error', () => undefined);
    req.end();
    await abandoned;
    server.close();
    expect(calls).toBe(0);
  });
});
