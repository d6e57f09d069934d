// An Express app metered by @meterkit/express, shut down by installShutdownHooks (SIGTERM), for the process tests.
import { createMetering, installShutdownHooks } from '@meterkit/express';
import express from 'express';
import { customerOf, engineOptions, reportEvents, say, sink } from './shared.mjs';

const metering = createMetering({
  ...engineOptions(),
  sink: await sink(),
  customer: (req) => customerOf(req.get('x-customer')),
});
reportEvents(metering.engine.events);
await metering.start();

const app = express();
app.get('/api', metering.meter('api_calls'), (_req, res) => res.json({ ok: true }));
const server = app.listen(0, '127.0.0.1', () => say({ kind: 'ready', port: server.address().port }));
installShutdownHooks(server, metering);
