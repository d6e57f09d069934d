import { createServer, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  bodyBytesOf,
  countBodyBytes,
  isServedStatus,
  markNeedsBodyBytes,
  needsBodyBytes,
} from '../../src/http/index.js';

/** Serves one request with `handler`, then returns what `bodyBytesOf` says once the response has finished. */
async function measure(method: string, handler: (res: ServerResponse) => void): Promise<number> {
  let measured = Number.NaN;
  const server = createServer((req, res) => {
    res.on('finish', () => {
      measured = bodyBytesOf(res, req.method);
    });
    handler(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve, reject) => {
    request({ host: '127.0.0.1', port, method, agent: false }, (res) => {
      res.resume();
      res.on('end', resolve);
    })
      .on('error', reject)
      .end();
  });
  await new Promise((resolve) => server.close(resolve));
  return measured;
}

describe('bodyBytesOf()', () => {
  it('counts the bytes of a streamed body when counting was installed', async () => {
    const bytes = await measure('GET', (res) => {
      countBodyBytes(res);
      res.write('héllo');
      res.write(Buffer.alloc(1000));
      res.end('!', 'utf8');
    });
    expect(bytes).toBe(1007);
  });

  it('reads Content-Length when nothing was counted', async () => {
    const bytes = await measure('GET', (res) => {
      res.setHeader('content-length', 3);
      res.end('abc');
    });
    expect(bytes).toBe(3);
  });

  it('is NaN for a streamed body nobody counted, so the record is refused rather than billed as zero', async () => {
    expect(await measure('GET', (res) => res.end('abc'))).toBeNaN();
  });

  it('is 0 for HEAD, whatever Content-Length says', async () => {
    const bytes = await measure('HEAD', (res) => {
      countBodyBytes(res);
      res.setHeader('content-length', 20_000);
      res.end();
    });
    expect(bytes).toBe(0);
  });

  it.each([204, 304])('is 0 for a %i response', async (status) => {
    expect(await measure('GET', (res) => res.writeHead(status, { 'content-length': 50 }).end())).toBe(0);
  });
});

describe('markNeedsBodyBytes()', () => {
  it('marks a quantity so adapters count its route body', () => {
    expect(needsBodyBytes(markNeedsBodyBytes(() => 1))).toBe(true);
    expect(needsBodyBytes(() => 1)).toBe(false);
    expect(needsBodyBytes(3)).toBe(false);
  });
});

describe('isServedStatus()', () => {
  it.each([
    [200, true],
    [201, true],
    [302, true],
    [304, false],
    [399, true],
    [101, false],
    [404, false],
    [500, false],
  ])('%i → %s', (status, served) => {
    expect(isServedStatus(status)).toBe(served);
  });
});
