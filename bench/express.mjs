#!/usr/bin/env node
// What @meterkit/express costs an Express 5 app, against the BUILT packages (`npm run build` first).
//
// A server process (this file with --server) serves the same tiny JSON route three ways, each behind the same API-key
// lookup: bare, with `meter('api_calls')`, and with a prom-client counter labelled by customer (the usual "metrics
// middleware" baseline). autocannon, in this process, drives each route in turn, interleaved and in a rotating order,
// for several rounds, with 1 and with 10,000 customers; per run the server reports its CPU time per request.
//
// req/s cannot resolve a microsecond, so a second server process (--server --timed) times the metering code itself
// with process.hrtime.bigint(): the middleware up to its call of next(), plus the response's whole `finish` emission
// (Node's own handler, which publishes the `http.server.response.finish` diagnostics channel that meter() listens on,
// then every `finish` listener, such as prom-client's), net of the same timing around an empty middleware. The same
// boundaries for every contender, whichever way it learns that the response finished. The timing wrappers live only
// in this script, never in the library, and only in the timed process.
//
// Before the rounds, every customer is sent once to every route: the figures are those of customers already counted
// this hour (a key's first request of an hour pays for creating it, in meterkit as in prom-client). Each route then
// keeps cycling through the customers from where it stopped.
//
// Usage: node bench/express.mjs [--rounds 5] [--duration 2] [--connections 20]
import { fork } from 'node:child_process';
import { subscribe } from 'node:diagnostics_channel';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { acceptingSink } from './accepting-sink.mjs';

const { values: args } = parseArgs({
  options: {
    server: { type: 'boolean', default: false },
    timed: { type: 'boolean', default: false },
    rounds: { type: 'string', default: '5' },
    duration: { type: 'string', default: '2' },
    connections: { type: 'string', default: '20' },
  },
});

const CUSTOMERS = 10_000;
const VARIANTS = ['bare', 'meter', 'prom'];
const TIMED_PATHS = ['/timed/empty', '/timed/meter', '/timed/prom'];
const RESPONSE_FINISH = 'http.server.response.finish';

if (args.server) await runServer(args.timed);
else await runBench();

// -----------------------------------------------------------------------------------------------------------------
// Server side
// -----------------------------------------------------------------------------------------------------------------

async function runServer(timedBuild) {
  const now = process.hrtime.bigint;
  // Markers around meter()'s `response.finish` subscriber (subscribers run in subscription order): what it costs a
  // response it does not watch, which every response of a metered app pays, metered or not.
  let calibrationStart = 0n;
  let calibration = 0n;
  let channelStart = 0n;
  let channelWindow = 0n;
  if (timedBuild) {
    subscribe(RESPONSE_FINISH, () => {
      calibrationStart = now();
    });
    subscribe(RESPONSE_FINISH, () => {
      calibration = now() - calibrationStart;
    });
    subscribe(RESPONSE_FINISH, () => {
      channelStart = now();
    });
  }
  const { default: express } = await import('express');
  const { Counter, Registry } = await import('prom-client');
  const { createMetering } = await import('@meterkit/express');
  const { silentLogger } = await import('@meterkit/core');

  const samples = { empty: [], meter: [], prom: [], unwatched: [] };
  // The "authenticated" customers: an API key each, and a billing identity built once (as an app would cache it).
  const customers = new Map();
  for (let i = 0; i < CUSTOMERS; i++) {
    const account = String(100_000_000_000 + i);
    customers.set(`k${i}`, {
      id: account,
      billing: {
        awsAccountId: account,
        licenseArn: `arn:aws:license-manager::${account}:license:l-bench${String(i).padStart(12, '0')}`,
      },
    });
  }
  const authenticate = (req, res, next) => {
    const customer = customers.get(req.headers['x-api-key']);
    if (customer === undefined) {
      res.status(401).end();
      return;
    }
    req.customer = customer;
    next();
  };

  const metering = createMetering({
    sink: acceptingSink,
    productCode: 'prod-bench',
    dimensions: ['api_calls'],
    logger: silentLogger,
    customer: (req) => req.customer?.billing,
  });
  await metering.start();
  const meter = metering.meter('api_calls');
  if (timedBuild) {
    subscribe(RESPONSE_FINISH, () => {
      channelWindow = now() - channelStart - calibration;
    });
  }

  const registry = new Registry();
  const requests = new Counter({
    name: 'api_requests_total',
    help: 'Successful API requests per customer',
    labelNames: ['customer', 'dimension'],
    registers: [registry],
  });
  /** The common way to count per customer with prom-client: a `finish` listener per request. */
  const promCounter = (req, res, next) => {
    res.on('finish', () => {
      if (res.statusCode < 400) requests.inc({ customer: req.customer.id, dimension: 'api_calls' });
    });
    next();
  };
  const emptyMiddleware = (_req, _res, next) => next();

  /**
   * A middleware timed from entry to its call of next(), plus the response's whole `finish` emission. Around the empty
   * middleware this is the timing's own cost and Node's own `finish` work, subtracted from the others.
   */
  const timed = (name, middleware) => (req, res, next) => {
    let inMiddleware = 0n;
    const emit = res.emit;
    res.emit = function timedEmit(event, ...args) {
      if (event !== 'finish') return emit.call(this, event, ...args);
      const started = now();
      const result = emit.call(this, event, ...args);
      samples[name].push(Number(inMiddleware + (now() - started)));
      if (name === 'empty') samples.unwatched.push(Number(channelWindow));
      return result;
    };
    const entered = now();
    middleware(req, res, (error) => {
      inMiddleware = now() - entered;
      next(error);
    });
  };

  const body = { ok: true, forecast: 'sunny' };
  const handler = (_req, res) => {
    res.json(body);
  };
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  if (timedBuild) {
    app.get('/timed/empty', authenticate, timed('empty', emptyMiddleware), handler);
    app.get('/timed/meter', authenticate, timed('meter', meter), handler);
    app.get('/timed/prom', authenticate, timed('prom', promCounter), handler);
  } else {
    app.get('/bare', authenticate, handler);
    app.get('/meter', authenticate, meter, handler);
    app.get('/prom', authenticate, promCounter, handler);
  }

  const server = app.listen(0, '127.0.0.1', () =>
    process.send({ type: 'ready', port: server.address().port }),
  );
  let cpuAtReset = process.cpuUsage();
  process.on('message', (message) => {
    if (message.type === 'reset') {
      for (const list of Object.values(samples)) list.length = 0;
      cpuAtReset = process.cpuUsage();
      process.send({ type: 'reset' });
    } else if (message.type === 'report') {
      const cpu = process.cpuUsage(cpuAtReset);
      process.send({
        type: 'report',
        cpuMicros: cpu.user + cpu.system,
        medianNanos: Object.fromEntries(Object.entries(samples).map(([name, list]) => [name, median(list)])),
        sampleCounts: Object.fromEntries(Object.entries(samples).map(([name, list]) => [name, list.length])),
      });
    }
  });
}

// -----------------------------------------------------------------------------------------------------------------
// Client side
// -----------------------------------------------------------------------------------------------------------------

async function runBench() {
  let autocannon;
  try {
    await import('@meterkit/express');
    ({ default: autocannon } = await import('autocannon'));
  } catch (error) {
    console.error(
      `bench/express: cannot load the built packages (${error.message}). Run \`npm run build\` first.`,
    );
    process.exit(1);
  }
  const rounds = Number(args.rounds);
  const duration = Number(args.duration);
  const connections = Number(args.connections);
  const plain = await startServer([]);
  const timed = await startServer(['--timed']);

  /** The next customer of each route: every route cycles through the customers, from where it stopped. */
  const nextCustomer = new Map();
  /**
   * One autocannon run over `paths` (cycled per connection), each path with its own rotation of `customerCount` API
   * keys; for `seconds`, or for `amount` requests.
   */
  async function load(server, paths, customerCount, seconds, amount) {
    const result = await autocannon({
      url: server.url,
      connections,
      ...(amount === undefined ? { duration: seconds } : { amount }),
      requests: paths.map((path) => ({
        method: 'GET',
        path,
        setupRequest: (request) => {
          const key = `${server.url}${path}`;
          const n = nextCustomer.get(key) ?? 0;
          nextCustomer.set(key, n + 1);
          request.headers = { 'x-api-key': `k${n % customerCount}` };
          return request;
        },
      })),
    });
    if (result.non2xx > 0 || result.errors > 0)
      throw new Error(`${paths}: ${result.non2xx} non-2xx, ${result.errors} errors`);
    return result;
  }

  async function measure(variant, customerCount) {
    await plain.ask('reset');
    const result = await load(plain, [`/${variant}`], customerCount, duration);
    const report = await plain.ask('report');
    return {
      requestsPerSecond: result.requests.average,
      p99Millis: result.latency.p99,
      cpuMicrosPerRequest: report.cpuMicros / result.requests.total,
    };
  }

  async function measureTimed(customerCount) {
    await timed.ask('reset');
    await load(timed, TIMED_PATHS, customerCount, duration);
    const report = await timed.ask('report');
    return {
      meterNanos: report.medianNanos.meter - report.medianNanos.empty,
      promNanos: report.medianNanos.prom - report.medianNanos.empty,
      emptyNanos: report.medianNanos.empty,
      unwatchedNanos: report.medianNanos.unwatched,
      samples: report.sampleCounts.meter,
    };
  }

  const started = Date.now();
  console.log(`warming up (every customer once on every route, then ${VARIANTS.length + 1} runs of 1 s)...`);
  for (const variant of VARIANTS) await load(plain, [`/${variant}`], CUSTOMERS, 0, CUSTOMERS + connections);
  await load(timed, TIMED_PATHS, CUSTOMERS, 0, (CUSTOMERS + connections) * TIMED_PATHS.length);
  for (const variant of VARIANTS) await load(plain, [`/${variant}`], CUSTOMERS, 1);
  await load(timed, TIMED_PATHS, CUSTOMERS, 1);

  const customerCounts = [1, CUSTOMERS];
  const runs = Object.fromEntries(
    customerCounts.map((n) => [n, { bare: [], meter: [], prom: [], timed: [] }]),
  );
  for (let round = 0; round < rounds; round++) {
    for (const customerCount of customerCounts) {
      // Rotate the order each round, so no variant always runs first (or right after the timed run).
      for (let i = 0; i < VARIANTS.length; i++) {
        const variant = VARIANTS[(i + round) % VARIANTS.length];
        runs[customerCount][variant].push(await measure(variant, customerCount));
      }
      runs[customerCount].timed.push(await measureTimed(customerCount));
    }
    console.log(`round ${round + 1}/${rounds} done (${((Date.now() - started) / 1000).toFixed(0)} s)`);
  }
  // No graceful stop: sending the last hour's 10,000 records would take the service's quota, not the bench's time.
  plain.child.kill();
  timed.child.kill();

  const summary = summarize(runs, customerCounts);
  print(summary, { rounds, duration, connections });
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  const file = new URL(
    `./results/express-${new Date().toISOString().replace(/[:.]/g, '-')}.json`,
    import.meta.url,
  );
  writeFileSync(
    file,
    JSON.stringify({ rounds, duration, connections, node: process.version, runs, summary }, null, 2),
  );
  console.log(`\nraw results: ${fileURLToPath(file)}`);
  process.exitCode = summary.every((s) => s.pass) ? 0 : 1;
}

/** Forks a server process and waits until it listens; `ask(type)` sends a command and resolves with its answer. */
async function startServer(extraArgs) {
  const child = fork(fileURLToPath(import.meta.url), ['--server', ...extraArgs], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const replies = [];
  const waiting = [];
  child.on('message', (message) => {
    const resolve = waiting.shift();
    if (resolve) resolve(message);
    else replies.push(message);
  });
  const nextMessage = () =>
    replies.length > 0 ? Promise.resolve(replies.shift()) : new Promise((r) => waiting.push(r));
  const { port } = await nextMessage();
  return {
    child,
    url: `http://127.0.0.1:${port}`,
    ask(type) {
      child.send({ type });
      return nextMessage();
    },
  };
}

function summarize(runs, customerCounts) {
  return customerCounts.map((customerCount) => {
    const r = runs[customerCount];
    const stat = (variant, field) => median(r[variant].map((run) => run[field]));
    const variants = Object.fromEntries(
      VARIANTS.map((v) => [
        v,
        {
          requestsPerSecond: stat(v, 'requestsPerSecond'),
          p99Millis: stat(v, 'p99Millis'),
          cpuMicrosPerRequest: stat(v, 'cpuMicrosPerRequest'),
          // Per round, against the bare run of the same round: rounds drift, pairs do not.
          rpsRatio: median(r[v].map((run, i) => run.requestsPerSecond / r.bare[i].requestsPerSecond)),
          cpuRatio: median(r[v].map((run, i) => run.cpuMicrosPerRequest / r.bare[i].cpuMicrosPerRequest)),
        },
      ]),
    );
    const meterNanos = median(r.timed.map((t) => t.meterNanos));
    const promNanos = median(r.timed.map((t) => t.promNanos));
    // The 1 us target is set at 10,000 customers; the other two apply to both runs.
    const checks = [
      ...(customerCount === CUSTOMERS
        ? [{ name: 'metering cost <= 1 us per request', pass: meterNanos <= 1000 }]
        : []),
      { name: "metering cost below prom-client's", pass: meterNanos < promNanos },
      { name: 'req/s >= 98 % of bare', pass: variants.meter.rpsRatio >= 0.98 },
    ];
    return {
      customerCount,
      variants,
      meterNanos,
      promNanos,
      emptyNanos: median(r.timed.map((t) => t.emptyNanos)),
      unwatchedNanos: median(r.timed.map((t) => t.unwatchedNanos)),
      timedSamplesPerRound: median(r.timed.map((t) => t.samples)),
      checks,
      pass: checks.every((c) => c.pass),
    };
  });
}

function print(summary, { rounds, duration, connections }) {
  console.log(
    `\nExpress 5, ${connections} connections, ${rounds} interleaved rounds of ${duration} s per variant; medians over rounds`,
  );
  for (const s of summary) {
    console.log(`\n${s.customerCount.toLocaleString('en-US')} customer(s)`);
    console.log('  variant        req/s   vs bare   p99 ms   server CPU us/req   vs bare');
    for (const [name, v] of Object.entries(s.variants)) {
      const label = { bare: 'bare', meter: 'meter()', prom: 'prom-client' }[name];
      console.log(
        `  ${label.padEnd(11)} ${v.requestsPerSecond.toFixed(0).padStart(8)}   ${(v.rpsRatio * 100).toFixed(1).padStart(5)} %` +
          `   ${v.p99Millis.toFixed(1).padStart(6)}   ${v.cpuMicrosPerRequest.toFixed(1).padStart(17)}   ${(v.cpuRatio * 100).toFixed(1).padStart(5)} %`,
      );
    }
    console.log(
      `  own cost per request, timed in the server (net of ${s.emptyNanos.toFixed(0)} ns timing overhead, ` +
        `~${s.timedSamplesPerRound} samples a round): meter() ${s.meterNanos.toFixed(0)} ns, prom-client ${s.promNanos.toFixed(0)} ns`,
    );
    console.log(
      `  an unmetered response in the metered app pays meter()'s finish-channel lookup: ${s.unwatchedNanos.toFixed(0)} ns`,
    );
    for (const c of s.checks) console.log(`  ${c.pass ? 'PASS' : 'FAIL'}  ${c.name}`);
  }
}

function median(values) {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}
