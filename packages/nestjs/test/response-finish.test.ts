import { EventEmitter } from 'node:events';
import { createServer, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  holdFinishChannel,
  isWatched,
  type RawResponse,
  rawResponseOf,
  watchFinish,
} from '../src/response-finish.js';

/** A server whose handler watches each response, then answers with the status of the `x-status` header. */
async function startServer(
  onResponse: (res: ServerResponse) => void,
): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    onResponse(res);
    res.statusCode = Number(req.headers['x-status'] ?? 200);
    res.end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` };
}

function get(url: string, status: number): Promise<void> {
  return new Promise((resolve, reject) => {
    request(url, { headers: { 'x-status': String(status) } }, (res) => {
      res.resume();
      res.on('end', resolve);
    })
      .on('error', reject)
      .end();
  });
}

describe('watchFinish()', () => {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it("tells a server response's status once through the channel, adding no finish listener", async () => {
    // Prepare
    cleanups.push(holdFinishChannel());
    const told: number[] = [];
    const listeners: number[] = [];
    const { server, url } = await startServer((res) => {
      const before = res.listenerCount('finish');
      watchFinish(res, { finished: (status) => told.push(status) });
      listeners.push(res.listenerCount('finish') - before);
    });
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    // Act
    await get(url, 200);
    await get(url, 503);
    // Assess
    expect(told).toEqual([200, 503]);
    expect(listeners).toEqual([0, 0]);
  });

  it('falls back to a finish listener for a response no server made, or when nobody holds the channel', async () => {
    // No server socket: an injected test response.
    cleanups.push(holdFinishChannel());
    const injected = Object.assign(new EventEmitter(), { statusCode: 201 }) as unknown as RawResponse &
      EventEmitter;
    const told: number[] = [];
    watchFinish(injected, { finished: (status) => told.push(status) });
    injected.emit('finish');
    expect(told).toEqual([201]);
    // A server response while the channel is released.
    cleanups.pop()?.();
    const { server, url } = await startServer((res) => watchFinish(res, { finished: (s) => told.push(s) }));
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    await get(url, 202);
    expect(told).toEqual([201, 202]);
  });

  it('knows a watched response, so a second watcher can step aside', () => {
    const response = Object.assign(new EventEmitter(), { statusCode: 200 }) as unknown as RawResponse;
    expect(isWatched(response)).toBe(false);
    watchFinish(response, { finished: () => undefined });
    expect(isWatched(response)).toBe(true);
  });

  it('stays subscribed until the last holder releases, and tolerates a double release', async () => {
    // Prepare
    const first = holdFinishChannel();
    const second = holdFinishChannel();
    first();
    first();
    const told: number[] = [];
    const listeners: number[] = [];
    const { server, url } = await startServer((res) => {
      const before = res.listenerCount('finish');
      watchFinish(res, { finished: (status) => told.push(status) });
      listeners.push(res.listenerCount('finish') - before);
    });
    cleanups.push(() => new Promise((resolve) => server.close(resolve)), second);
    // Act
    await get(url, 200);
    // Assess: still told through the channel
    expect(told).toEqual([200]);
    expect(listeners).toEqual([0]);
  });

  it('finds the raw response behind a Fastify reply and takes an Express response as it is, in any order', () => {
    class ExpressResponse extends EventEmitter {
      statusCode = 200;
    }
    class FastifyReply {
      constructor(readonly raw: RawResponse) {}
    }
    const express = [new ExpressResponse(), new ExpressResponse()] as unknown as RawResponse[];
    const inner = new ExpressResponse() as unknown as RawResponse;
    const reply = new FastifyReply(inner) as unknown as RawResponse;
    expect(rawResponseOf(express[0] as RawResponse)).toBe(express[0]);
    expect(rawResponseOf(reply)).toBe(inner);
    expect(rawResponseOf(express[1] as RawResponse)).toBe(express[1]);
    expect(rawResponseOf(reply)).toBe(inner);
  });
});
