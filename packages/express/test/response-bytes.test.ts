import { once } from 'node:events';
import { createServer, request as httpRequest, type IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MeteringConfigurationError } from '@meterkit/core';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { responseBytes, responseBytesIn } from '../src/index.js';
import { setup } from './helpers/setup.js';

const ACME = '111122223333';

describe('responseBytes()', () => {
  it('reads Content-Length when meterkit did not count the body', async () => {
    const { app, metering, billed } = setup();
    app.get(
      '/json',
      metering.meter({ dimension: 'egress_bytes', quantity: (_req, res) => responseBytes(res) }),
      (_req, res) => {
        res.send('x'.repeat(1500));
      },
    );
    await request(app).get('/json').set('x-api-key', 'key-acme').expect(200);
    expect(await billed()).toEqual({ [`${ACME}/egress_bytes`]: 1500 });
  });

  it('is NaN for a streamed body it did not count, so the record is refused visibly', async () => {
    const { app, metering, billed } = setup();
    const reasons: string[] = [];
    metering.engine.events.on('usage.rejected', (event) => reasons.push(event.reason));
    app.get(
      '/stream',
      metering.meter({ dimension: 'egress_bytes', quantity: (_req, res) => responseBytes(res) }),
      (_req, res) => {
        res.write('abc');
        res.end('def');
      },
    );
    await request(app).get('/stream').set('x-api-key', 'key-acme').expect(200);
    expect(reasons).toEqual(['invalid-quantity']);
    expect(await billed()).toEqual({});
  });

  it('counts streamed bytes when the meter asks for counting', async () => {
    const { app, metering, billed } = setup();
    app.get(
      '/stream',
      metering.meter({
        dimension: 'egress_bytes',
        quantity: (_req, res) => responseBytes(res),
        countBytes: true,
      }),
      (_req, res) => {
        res.write('é'.repeat(100)); // 200 bytes in UTF-8
        res.write(Buffer.alloc(50));
        res.end('end');
      },
    );
    await request(app).get('/stream').set('x-api-key', 'key-acme').expect(200);
    expect(await billed()).toEqual({ [`${ACME}/egress_bytes`]: 253 });
  });

  it('is 0 for a HEAD request', async () => {
    const server = createServer((req: IncomingMessage, res: ServerResponse) => {
      res.setHeader('content-length', '1234');
      res.end();
      res.on('finish', () => server.emit('measured', responseBytes(res)));
      void req;
    });
    server.listen(0);
    await once(server, 'listening');
    const measured = once(server, 'measured');
    const req = httpRequest({ port: (server.address() as AddressInfo).port, method: 'HEAD' });
    req.end();
    const [response] = (await once(req, 'response')) as [IncomingMessage];
    response.resume();
    expect(await measured).toEqual([0]);
    server.close();
  });
});

describe('responseBytesIn()', () => {
  it('bills the body in whole units, rounded up, counting streamed bytes by itself', async () => {
    const { app, metering, billed } = setup();
    app.get(
      '/export',
      metering.meter({ dimension: 'export_kb', quantity: responseBytesIn(1024) }),
      (_req, res) => {
        res.write('x'.repeat(1024));
        res.end('y');
      },
    );
    await request(app).get('/export').set('x-api-key', 'key-acme').expect(200);
    expect(await billed()).toEqual({ [`${ACME}/export_kb`]: 2 });
  });

  it('refuses a unit that is not a positive integer', () => {
    expect(() => responseBytesIn(0)).toThrow(MeteringConfigurationError);
  });
});
