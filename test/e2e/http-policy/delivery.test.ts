import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { adapters, type RunningAdapter } from './adapters.js';

/**
 * A body far larger than loopback's socket buffers (a few MB at most), so a client that stops reading leaves most of
 * it unsent on the server, whatever the kernel's autotuning.
 */
const LARGE_KB = 24 * 1024;

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => resolve(socket));
    socket.once('error', reject);
  });
}

function get(path: string, headers = ''): string {
  return `GET ${path} HTTP/1.1\r\nHost: meterkit.test\r\nx-customer: acme\r\n${headers}\r\n`;
}

/** Reads until `bytes` bytes of response have arrived, then drops the connection (a download cancelled mid-body). */
async function abortAfter(port: number, path: string, bytes: number): Promise<void> {
  const socket = await open(port);
  await new Promise<void>((resolve) => {
    let received = 0;
    socket.on('data', (data: Buffer) => {
      received += data.length;
      if (received < bytes) return;
      socket.destroy();
      resolve();
    });
    socket.write(get(path));
  });
}

/** Sends the request and never reads a byte of the answer; drops the connection once the answer has started. */
async function neverRead(port: number, path: string): Promise<void> {
  const socket = await open(port);
  socket.pause();
  // 'readable' says the answer is arriving without reading it. The server then fills the socket buffers and stalls;
  // how far it got when the client leaves changes nothing: most of the body is still unsent.
  await new Promise<void>((resolve) => {
    socket.once('readable', resolve);
    socket.write(get(path));
  });
  await new Promise((resolve) => setTimeout(resolve, 50));
  socket.destroy();
}

/** Writes `requests` in one go on one connection and reads everything until the server closes it. */
async function pipeline(port: number, requests: string): Promise<string> {
  const socket = await open(port);
  const received: Buffer[] = [];
  socket.on('data', (data: Buffer) => received.push(data));
  await new Promise((resolve) => {
    socket.once('end', resolve);
    socket.write(requests);
  });
  socket.destroy();
  return Buffer.concat(received).toString('latin1');
}

/**
 * Node 20 and 22 report a response finished even when its connection was destroyed with the body unsent: meterkit
 * sees the destroyed socket and counts it in `undelivered`. Node 24 reports nothing for it, so it counts nothing
 * without passing through meterkit at all.
 */
const UNDELIVERED_SEEN = Number(process.versions.node.split('.')[0]) < 24 ? 1 : 0;

/** Waits until the server has let go of every connection: it has settled whatever it was sending. */
async function serverDone(running: RunningAdapter): Promise<void> {
  await vi.waitFor(async () => expect(await running.connections()).toBe(0), { timeout: 10_000 });
}

describe.each(adapters)('counting only what was delivered, on $name', (adapter) => {
  let running: RunningAdapter | undefined;
  afterEach(async () => {
    await running?.close();
    running = undefined;
  });

  it('bills nothing for a streamed download the client cancels mid-body', async () => {
    running = await adapter.start();
    await abortAfter(running.port, `/stream?kb=${LARGE_KB}`, 128 * 1024);
    await serverDone(running);
    expect(await running.billed()).toEqual({});
    // The stream's pipe fails on the destroyed socket, so Node never reports this response finished at all.
    expect(running.counters().undelivered).toBe(0);
  });

  it('bills nothing for a counted call whose Content-Length body is cancelled mid-body', async () => {
    running = await adapter.start();
    await abortAfter(running.port, `/big?kb=${LARGE_KB}`, 128 * 1024);
    await serverDone(running);
    expect(await running.billed()).toEqual({});
    expect(running.counters().undelivered).toBe(UNDELIVERED_SEEN);
  });

  it('bills nothing for a download the client never reads', async () => {
    running = await adapter.start();
    await neverRead(running.port, `/bytes?kb=${LARGE_KB}`);
    await serverDone(running);
    expect(await running.billed()).toEqual({});
    expect(running.counters().undelivered).toBe(UNDELIVERED_SEEN);
  });

  it('bills a large download the client reads in full', async () => {
    running = await adapter.start();
    const answer = await pipeline(running.port, get(`/stream?kb=${LARGE_KB}`, 'Connection: close\r\n'));
    expect(answer.length).toBeGreaterThan(LARGE_KB * 1024);
    expect(await running.billed()).toEqual({ export_kb: LARGE_KB });
    expect(running.counters().undelivered).toBe(0);
  });

  it('bills each of several pipelined requests on one keep-alive connection', async () => {
    running = await adapter.start();
    const answer = await pipeline(
      running.port,
      get('/calls') + get('/bytes?kb=2') + get('/stream?kb=3') + get('/calls', 'Connection: close\r\n'),
    );
    expect(answer.match(/HTTP\/1\.1 200/g)).toHaveLength(4);
    expect(await running.billed()).toEqual({ api_calls: 2, export_kb: 5 });
    expect(running.counters().undelivered).toBe(0);
  });
});
