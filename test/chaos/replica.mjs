// One replica of the chaos run: an Express app metered by @meterkit/express, on the shared accelerated clock, with
// a Redis or SQLite store, sending to the emulator through the real AWS SDK sink. Runs the BUILT packages.
//
// Environment: CHAOS_STORE (redis | sqlite), REDIS_URL + CHAOS_KEY_PREFIX or CHAOS_SQLITE_FILE, CHAOS_EMULATOR
// (endpoint), CHAOS_REPLICA (name), CHAOS_CLOCK_* (see accelerated-clock.mjs), CHAOS_ENGINE (JSON engine options).
// Stdout protocol, one line each: `READY <port>`, `CHECKPOINTED <epoch ms>`, `EVENT <json>` (dead letters, carries),
// `SUMMARY <json>` at a graceful exit.
import { createServer } from 'node:http';
import { MarketplaceMeteringSink } from '@meterkit/aws-marketplace';
import { createMetering } from '@meterkit/express';
import express from 'express';
import { AcceleratedClock } from './accelerated-clock.mjs';
import { customerFor, DIMENSIONS, PRODUCT_CODE } from './customers.mjs';

const env = process.env;
const name = env.CHAOS_REPLICA ?? 'replica';
const clock = AcceleratedClock.fromEnv(env);
const say = (line) => process.stdout.write(`${line}\n`);
const logger = {
  info() {},
  warn: (message, context) =>
    process.stderr.write(`[${name}] warn: ${message} ${JSON.stringify(context ?? {})}\n`),
  error: (message, context) =>
    process.stderr.write(`[${name}] error: ${message} ${JSON.stringify(context ?? {})}\n`),
};

async function openStore() {
  if (env.CHAOS_STORE === 'redis') {
    const { RedisStore } = await import('@meterkit/redis');
    return new RedisStore({ url: env.REDIS_URL, keyPrefix: env.CHAOS_KEY_PREFIX });
  }
  const { SqliteStore } = await import('@meterkit/sqlite');
  return new SqliteStore({ filename: env.CHAOS_SQLITE_FILE });
}

const customers = new Map();
const customerOf = (req) => {
  // In this harness the header stands for an authenticated session; a real app reads its own auth (req.user).
  const index = req.get('x-customer');
  if (index === undefined) return undefined;
  if (!customers.has(index)) customers.set(index, customerFor(Number(index)));
  return customers.get(index);
};

const metering = createMetering({
  ...JSON.parse(env.CHAOS_ENGINE ?? '{}'),
  customer: customerOf,
  productCode: PRODUCT_CODE,
  dimensions: DIMENSIONS,
  store: await openStore(),
  sink: new MarketplaceMeteringSink({
    logger,
    clientConfig: {
      endpoint: env.CHAOS_EMULATOR,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDCHAOS', secretAccessKey: 'chaos-secret' },
    },
  }),
  clock,
  timers: clock,
  logger,
  autoStart: false,
});

const counts = { accepted: 0, retrying: 0, deadLettered: 0, carriedForward: 0, checkpoints: 0, errors: 0 };
const events = metering.engine.events;
events.on('record.accepted', () => counts.accepted++);
events.on('record.retrying', () => counts.retrying++);
events.on('usage.checkpointed', () => {
  counts.checkpoints++;
  // When each checkpoint was written, on the wall clock the harness shares: it bounds what a kill can lose.
  say(`CHECKPOINTED ${Date.now()}`);
});
events.on('engine.error', () => counts.errors++);
events.on('record.dead-lettered', (e) => {
  counts.deadLettered++;
  say(
    `EVENT ${JSON.stringify({ kind: 'dead-lettered', id: e.record.id, reason: e.reason, detail: e.detail })}`,
  );
});
events.on('record.carried-forward', (e) => {
  counts.carriedForward++;
  say(`EVENT ${JSON.stringify({ kind: 'carried-forward', id: e.record.id })}`);
});

const app = express();
app.get('/api', metering.meter('api_calls'), (_req, res) => res.json({ ok: true }));
app.post('/reports', metering.meter({ dimension: 'reports', quantity: 3 }), (_req, res) =>
  res.status(201).json({}),
);
// Metered but failing: a customer who was not served is not billed.
app.get('/fail', metering.meter('api_calls'), (_req, res) => res.status(500).json({ error: 'boom' }));

await metering.start();
const server = createServer(app);
server.listen(0, '127.0.0.1', () => say(`READY ${server.address().port}`));

process.once('SIGTERM', async () => {
  const report = await metering.shutdown({ server });
  say(`SUMMARY ${JSON.stringify({ ...counts, shutdown: report })}`);
  process.exit(0);
});
