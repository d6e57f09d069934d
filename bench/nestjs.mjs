#!/usr/bin/env node
// What @meterkit/nestjs costs a Nest app (platform-express), against the BUILT packages (`npm run build` first).
//
// Two server processes: a bare one that never loads meterkit (a plain route, and the same route behind a no-op
// interceptor), and a metered one (a MeteringModule app with a @Meter route, which MeteringGuard meters, an unmetered
// route, the no-op interceptor route, and a route metered by MeteringInterceptor, the hook of routes that count from
// the handler's result and the one @Meter used for every route before). Separate processes, so whatever
// MeteringModule installs process-wide (its diagnostics-channel subscriber) shows in the unmetered route and not in
// bare. autocannon drives each route in turn, interleaved, for several rounds, with 1 and with 10,000 customers.
// Each server reports its CPU time per request, and, in a separate timed pass, the time spent inside the metering
// code itself (median of single calls, net of the timer: req/s alone cannot resolve a microsecond).
//
// Usage: node bench/nestjs.mjs [--rounds 5] [--duration 2]
import 'reflect-metadata';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { acceptingSink } from './accepting-sink.mjs';

const { values: args } = parseArgs({
  options: {
    server: { type: 'string' },
    rounds: { type: 'string', default: '5' },
    duration: { type: 'string', default: '2' },
  },
});

if (args.server === 'bare') await runBareServer();
else if (args.server === 'metered') await runMeteredServer();
else await runBench();

// ---------------------------------------------------------------------------------------------------------------
// Server side
// ---------------------------------------------------------------------------------------------------------------

/** Applies method decorators the way TypeScript does (bottom-up). */
function decorate(cls, method, ...decorators) {
  const descriptor = Object.getOwnPropertyDescriptor(cls.prototype, method);
  const result = Reflect.decorate(decorators, cls.prototype, method, descriptor);
  Object.defineProperty(cls.prototype, method, result ?? descriptor);
}

/**
 * Answers the client's start/stop/close messages: CPU time of this process between start and stop, plus what
 * `extra` adds (the metered server's timings). `onStart(message)` runs before the CPU clock starts.
 */
function serve(apps, { onStart = () => {}, extra = () => ({}), onMessage = async () => undefined } = {}) {
  let cpuStart = process.cpuUsage();
  // The client is gone (it failed, or was stopped): a server left listening would outlive the bench.
  process.on('disconnect', () => process.exit(0));
  process.on('message', async (message) => {
    switch (message.cmd) {
      case 'start':
        if (global.gc) global.gc();
        onStart(message);
        cpuStart = process.cpuUsage();
        process.send({ cmd: 'started' });
        break;
      case 'stop': {
        const cpu = process.cpuUsage(cpuStart);
        process.send({ cmd: 'stopped', cpuMicros: cpu.user + cpu.system, ...extra() });
        break;
      }
      case 'close':
        for (const app of apps) await app.close();
        process.exit(0);
        break;
      default:
        process.send(await onMessage(message));
    }
  });
}

/** The floor any interceptor pays: Nest's interceptor machinery around a handler, and nothing else. */
async function noopInterceptorClass() {
  const { Injectable } = await import('@nestjs/common');
  class NoopInterceptor {
    intercept(_context, next) {
      return next.handle();
    }
  }
  Injectable()(NoopInterceptor);
  return NoopInterceptor;
}

/** The floor any guard pays: Nest's guard machinery (an execution context and an await), and nothing else. */
async function noopGuardClass() {
  const { Injectable } = await import('@nestjs/common');
  class NoopGuard {
    canActivate() {
      return true;
    }
  }
  Injectable()(NoopGuard);
  return NoopGuard;
}

async function runBareServer() {
  const { Controller, Get, Module, UseInterceptors } = await import('@nestjs/common');
  const { NestFactory } = await import('@nestjs/core');
  const { ExpressAdapter } = await import('@nestjs/platform-express');
  const NoopInterceptor = await noopInterceptorClass();

  class BareController {
    bare() {
      return { ok: true };
    }
    noop() {
      return { ok: true };
    }
  }
  decorate(BareController, 'bare', Get('bare'));
  decorate(BareController, 'noop', Get('noop'), UseInterceptors(NoopInterceptor));
  Controller()(BareController);
  class BareModule {}
  Module({ controllers: [BareController] })(BareModule);

  const app = await NestFactory.create(BareModule, new ExpressAdapter(), { logger: false });
  await app.listen(0, '127.0.0.1');
  serve([app]);
  process.send({ cmd: 'ready', url: await app.getUrl() });
}

async function runMeteredServer() {
  const { Controller, Get, Module, UseGuards, UseInterceptors } = await import('@nestjs/common');
  const { NestFactory } = await import('@nestjs/core');
  const { ExpressAdapter } = await import('@nestjs/platform-express');
  const { Meter, MeteringGuard, MeteringInterceptor, MeteringModule, MeterMetadata } = await import(
    '@meterkit/nestjs'
  );
  const { silentLogger } = await import('@meterkit/core');

  // 10,000 "authenticated" customers; the bench client names one per request in `x-customer`.
  const customers = Array.from({ length: 10_000 }, (_, i) => ({
    awsAccountId: String(100000000000 + i),
    licenseArn: `arn:aws:license-manager::${100000000000 + i}:license:l-bench${String(i).padStart(12, '0')}`,
  }));
  const customerOf = (context) =>
    customers[Number(context.switchToHttp().getRequest().headers['x-customer'])];

  const NoopInterceptor = await noopInterceptorClass();
  const NoopGuard = await noopGuardClass();
  class MeteredController {
    noop() {
      return { ok: true };
    }
    noopGuard() {
      return { ok: true };
    }
    metered() {
      return { ok: true };
    }
    unmetered() {
      return { ok: true };
    }
    intercepted() {
      return { ok: true };
    }
  }
  decorate(MeteredController, 'noop', Get('noop'), UseInterceptors(NoopInterceptor));
  decorate(MeteredController, 'noopGuard', Get('noop-guard'), UseGuards(NoopGuard));
  decorate(MeteredController, 'metered', Get('metered'), Meter('api_calls'));
  decorate(MeteredController, 'unmetered', Get('unmetered'));
  decorate(
    MeteredController,
    'intercepted',
    Get('intercepted'),
    MeterMetadata([
      { dimension: 'api_calls', quantity: 1, when: undefined, successStatus: undefined, usesResult: false },
    ]),
    UseInterceptors(MeteringInterceptor),
  );
  Controller()(MeteredController);

  class MeteredModule {}
  Module({
    imports: [
      MeteringModule.forRoot({
        sink: acceptingSink,
        productCode: 'prod-bench',
        dimensions: ['api_calls'],
        customer: customerOf,
        logger: silentLogger,
      }),
    ],
    controllers: [MeteredController],
  })(MeteredModule);

  const app = await NestFactory.create(MeteredModule, new ExpressAdapter(), { logger: false });
  await app.listen(0, '127.0.0.1');

  // The timed pass wraps the metering code in hrtime and keeps every call's duration; the median of single calls
  // shrugs off the calls the OS interrupted, which a mean on a busy machine does not. Off by default, so throughput
  // rounds run the real code. `empty` times nothing: the timer's own cost, taken off the others.
  let timing = false;
  const durations = { empty: [], intercept: [], canActivate: [], settleResponse: [] };
  const now = process.hrtime.bigint;
  function timed(target, method, samples) {
    const original = target[method];
    target[method] = function (...params) {
      if (!timing) return original.apply(this, params);
      const start = now();
      try {
        return original.apply(this, params);
      } finally {
        samples.push(Number(now() - start));
      }
    };
  }
  const emptyTarget = { empty() {} };
  timed(emptyTarget, 'empty', durations.empty);
  // Counting a finished response is the module's request metering, which the guard and the interceptor share.
  const requestMetering = Object.getPrototypeOf(app.get(MeteringInterceptor).requests);
  timed(requestMetering, 'count', durations.settleResponse);
  timed(MeteringGuard.prototype, 'canActivate', durations.canActivate);
  const intercept = MeteringInterceptor.prototype.intercept;
  // Nest's next.handle() (building the rest of the interceptor chain) is the floor's cost, not metering's: left out.
  MeteringInterceptor.prototype.intercept = function (context, next) {
    if (!timing) return intercept.call(this, context, next);
    let handleNanos = 0;
    const timedNext = {
      handle() {
        const start = now();
        try {
          return next.handle();
        } finally {
          handleNanos = Number(now() - start);
        }
      },
    };
    const start = now();
    try {
      return intercept.call(this, context, timedNext);
    } finally {
      durations.intercept.push(Number(now() - start) - handleNanos);
    }
  };
  const median = (values) => {
    if (values.length === 0) return 0;
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)];
  };

  // The metering code alone, called directly the way Nest calls it (context, next, subscribe), against a no-op
  // interceptor doing the same dance. Responses are built the way Node's server and Express build them (a
  // ServerResponse on a server socket, Node's own `finish` listener, Express's prototype swapped in), and finish the
  // way Node's server finishes them (`finish`, then `http.server.response.finish` when someone listens). Short
  // samples interleaved across variants, reported at a low percentile: robust on a machine shared with other work.
  // The unmetered variants finish a response of a route without @Meter with the module's channel subscriber in place,
  // and as Node finishes it when nobody subscribes: what MeteringModule costs the routes it does not meter.
  async function isolated() {
    const { ExecutionContextHost } = await import('@nestjs/core/helpers/execution-context-host.js');
    const { channel } = await import('node:diagnostics_channel');
    const { IncomingMessage, ServerResponse } = await import('node:http');
    const { Socket } = await import('node:net');
    const { of } = await import('rxjs');
    const interceptor = app.get(MeteringInterceptor, { strict: false });
    const guard = new MeteringGuard(interceptor.requests, false);
    const noop = { intercept: (_context, next) => next.handle() };
    const source = of({ ok: true });
    const next = { handle: () => source };
    const ignore = () => {};
    const expressApp = app.getHttpAdapter().getInstance();
    const server = app.getHttpServer();
    const finishChannel = channel('http.server.response.finish');
    const nodeFinishListener = () => {};
    const perSample = 200;
    const samples = 300;
    function requests(customerCount, handler) {
      return Array.from({ length: perSample }, (_, i) => {
        const socket = new Socket();
        socket.server = server;
        const req = new IncomingMessage(socket);
        req.headers = { 'x-customer': String(i % customerCount) };
        const res = new ServerResponse(req);
        res.assignSocket(socket);
        res.on('finish', nodeFinishListener);
        Object.setPrototypeOf(req, expressApp.request);
        Object.setPrototypeOf(res, expressApp.response);
        const context = new ExecutionContextHost([req, res, undefined], MeteredController, handler);
        context.setType('http');
        return { context, req, res, socket };
      });
    }
    // What Node's server does when a response finishes: its own `finish` listener, which publishes on the channel
    // (a new message each time) when someone subscribes.
    function finish({ req, res, socket }) {
      res.emit('finish');
      if (finishChannel.hasSubscribers)
        finishChannel.publish({ request: req, response: res, socket, server });
    }
    // The same response finishing in an app that never subscribed.
    function finishUnobserved({ res }) {
      res.emit('finish');
    }
    const { metered, intercepted, unmetered } = MeteredController.prototype;
    const runs = {
      'no-op interceptor': {
        handler: metered,
        run(r) {
          noop.intercept(r.context, next).subscribe(ignore);
          finish(r);
        },
      },
      MeteringInterceptor: {
        handler: intercepted,
        run(r) {
          interceptor.intercept(r.context, next).subscribe(ignore);
          finish(r);
        },
      },
      '@Meter (MeteringGuard)': {
        handler: metered,
        run(r) {
          guard.canActivate(r.context);
          finish(r);
        },
      },
      'unmetered, module subscribed': { handler: unmetered, run: finish },
      'unmetered, nobody subscribed': { handler: unmetered, run: finishUnobserved },
    };
    const results = {};
    for (const customerCount of [1, 10_000]) {
      const nanos = Object.fromEntries(Object.keys(runs).map((name) => [name, []]));
      for (let sample = 0; sample < samples; sample++) {
        for (const [name, { handler, run }] of Object.entries(runs)) {
          const list = requests(customerCount, handler);
          const start = process.hrtime.bigint();
          for (const r of list) run(r);
          nanos[name].push(Number(process.hrtime.bigint() - start) / perSample);
        }
      }
      for (const [name, list] of Object.entries(nanos)) {
        list.sort((a, b) => a - b);
        results[`${name}, ${customerCount === 1 ? '1 customer' : '10k customers'}`] =
          list[Math.floor(list.length * 0.02)];
      }
    }
    return results;
  }

  serve([app], {
    onStart(message) {
      timing = message.timed === true;
      for (const list of Object.values(durations)) list.length = 0;
    },
    extra() {
      if (!timing) return {};
      // The timer's own cost, measured now, under the machine's current load.
      for (let i = 0; i < 10_000; i++) emptyTarget.empty();
      timing = false;
      return { medianNanos: Object.fromEntries(Object.entries(durations).map(([k, v]) => [k, median(v)])) };
    },
    async onMessage(message) {
      if (message.cmd === 'isolated') return { cmd: 'isolated', results: await isolated() };
      return { cmd: 'unknown' };
    },
  });
  process.send({ cmd: 'ready', url: await app.getUrl() });
}

// ---------------------------------------------------------------------------------------------------------------
// Client side
// ---------------------------------------------------------------------------------------------------------------

function startServer(kind) {
  const child = fork(fileURLToPath(import.meta.url), ['--server', kind], { execArgv: ['--expose-gc'] });
  const replies = [];
  const waiters = [];
  let exited;
  child.on('message', (message) => {
    const waiter = waiters.shift();
    if (waiter) waiter.resolve(message);
    else replies.push(message);
  });
  // A server that dies (a bench out of step with the adapter) fails the bench instead of leaving it waiting.
  child.on('exit', (code, signal) => {
    exited = new Error(`bench server '${kind}' exited (${signal ?? `code ${code}`})`);
    for (const waiter of waiters.splice(0)) waiter.reject(exited);
  });
  const next = () => {
    if (replies.length > 0) return Promise.resolve(replies.shift());
    if (exited !== undefined) return Promise.reject(exited);
    return new Promise((resolve, reject) => waiters.push({ resolve, reject }));
  };
  return {
    ready: next(),
    ask(message) {
      child.send(message);
      return next();
    },
    close: () => child.send({ cmd: 'close' }),
  };
}

async function runBench() {
  const { default: autocannon } = await import('autocannon');
  const rounds = Number(args.rounds);
  const duration = Number(args.duration);
  const servers = { bare: startServer('bare'), metered: startServer('metered') };
  const urls = { bare: (await servers.bare.ready).url, metered: (await servers.metered.ready).url };

  const scenarios = [
    { name: 'bare route', server: 'bare', path: '/bare', customers: 1 },
    { name: 'no-op interceptor', server: 'bare', path: '/noop', customers: 1 },
    { name: 'unmetered route, metered app', server: 'metered', path: '/unmetered', customers: 1 },
    { name: 'no-op interceptor, metered app', server: 'metered', path: '/noop', customers: 1 },
    { name: 'no-op guard, metered app', server: 'metered', path: '/noop-guard', customers: 1 },
    { name: '@Meter, 1 customer', server: 'metered', path: '/metered', customers: 1, timed: 'canActivate' },
    {
      name: '@Meter, 10k customers',
      server: 'metered',
      path: '/metered',
      customers: 10_000,
      timed: 'canActivate',
    },
    {
      name: 'interceptor, 1 customer',
      server: 'metered',
      path: '/intercepted',
      customers: 1,
      timed: 'intercept',
    },
    {
      name: 'interceptor, 10k customers',
      server: 'metered',
      path: '/intercepted',
      customers: 10_000,
      timed: 'intercept',
    },
  ];

  function load(scenario, seconds) {
    let counter = 0;
    return autocannon({
      url: `${urls[scenario.server]}${scenario.path}`,
      connections: 20,
      duration: seconds,
      requests: [
        {
          setupRequest(request) {
            request.headers = { ...request.headers, 'x-customer': String(counter++ % scenario.customers) };
            return request;
          },
        },
      ],
    });
  }

  async function measure(scenario, seconds, timed = false) {
    const server = servers[scenario.server];
    await server.ask({ cmd: 'start', timed });
    const result = await load(scenario, seconds);
    const stats = await server.ask({ cmd: 'stop' });
    const requests = result.requests.total;
    if (result.non2xx > 0 || result.errors > 0)
      throw new Error(`${scenario.name}: ${result.non2xx} non-2xx, ${result.errors} errors`);
    return {
      rps: result.requests.average,
      p99: result.latency.p99,
      cpuMicrosPerRequest: stats.cpuMicros / requests,
      medianNanos: stats.medianNanos,
    };
  }

  console.log(`warming up (${scenarios.length} routes)…`);
  for (const scenario of scenarios) await measure(scenario, 1);

  const samples = new Map(scenarios.map((s) => [s.name, []]));
  for (let round = 1; round <= rounds; round++) {
    // Rotate the starting point so no route always runs first (or right after another).
    const order = scenarios.map((_, i) => scenarios[(i + round) % scenarios.length]);
    for (const scenario of order) samples.get(scenario.name).push(await measure(scenario, duration));
    console.log(`round ${round}/${rounds} done`);
  }

  // The metering code's own time per request: the median single call of the hook (intercept or canActivate) plus
  // the median single call of the counting at `finish`, each net of the timer's own cost. A separate pass.
  const costs = new Map();
  const timedParts = [];
  for (const scenario of scenarios.filter((s) => s.timed)) {
    const { medianNanos: m } = await measure(scenario, duration, true);
    costs.set(scenario.name, m[scenario.timed] + m.settleResponse - 2 * m.empty);
    timedParts.push(
      `  ${scenario.name.padEnd(28)} ${scenario.timed} ${m[scenario.timed]} ns, settleResponse ${m.settleResponse} ns, timer ${m.empty} ns`,
    );
  }
  const { results: isolatedNanos } = await servers.metered.ask({ cmd: 'isolated' });
  servers.bare.close();
  servers.metered.close();

  const median = (values) => {
    const sorted = [...values].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  };
  const bareRounds = samples.get('bare route');
  // Ratios are taken round by round (each route against bare in the same round), then the median.
  const summary = scenarios.map((s) => {
    const list = samples.get(s.name);
    return {
      name: s.name,
      rps: median(list.map((x) => x.rps)),
      p99: median(list.map((x) => x.p99)),
      cpu: median(list.map((x) => x.cpuMicrosPerRequest)),
      rpsRatio: median(list.map((x, i) => x.rps / bareRounds[i].rps)),
      cpuRatio: median(list.map((x, i) => bareRounds[i].cpuMicrosPerRequest / x.cpuMicrosPerRequest)),
      cost: costs.get(s.name),
    };
  });
  const percent = (ratio) => `${(ratio * 100).toFixed(1)} %`;
  console.log(
    `\nmedians of ${rounds} interleaved rounds of ${duration}s, 20 connections, platform-express; ` +
      '"CPU capacity" = bare CPU µs/req ÷ route CPU µs/req (the req/s ratio on a dedicated core)\n',
  );
  console.log(
    `${'route'.padEnd(30)} ${'req/s'.padStart(8)} ${'p99 ms'.padStart(7)} ${'CPU µs/req'.padStart(11)} ${'metering ns/req'.padStart(16)} ${'req/s vs bare'.padStart(14)} ${'CPU capacity'.padStart(13)}`,
  );
  for (const row of summary) {
    console.log(
      `${row.name.padEnd(30)} ${row.rps.toFixed(0).padStart(8)} ${String(row.p99).padStart(7)} ${row.cpu.toFixed(1).padStart(11)} ${(row.cost === undefined ? '-' : row.cost.toFixed(0)).padStart(16)} ${percent(row.rpsRatio).padStart(14)} ${percent(row.cpuRatio).padStart(13)}`,
    );
  }
  const byName = new Map(summary.map((r) => [r.name, r]));
  const bare = byName.get('bare route');
  const noopHere = byName.get('no-op interceptor, metered app');
  const unmetered = byName.get('unmetered route, metered app');
  /** Median over rounds of `of`'s CPU µs/req ÷ `over`'s, each pair from the same round. */
  const cpuOver = (of, over) =>
    median(samples.get(of).map((x, i) => x.cpuMicrosPerRequest / samples.get(over)[i].cpuMicrosPerRequest));
  const iso = (name) => isolatedNanos[name];
  const channelNanos = Math.max(
    iso('unmetered, module subscribed, 1 customer') - iso('unmetered, nobody subscribed, 1 customer'),
    iso('unmetered, module subscribed, 10k customers') - iso('unmetered, nobody subscribed, 10k customers'),
  );
  console.log('\ntargets:');
  console.log(
    `  unmetered route in a metered app ≥ 99 % of bare: req/s ${percent(unmetered.rpsRatio)}, CPU capacity ${percent(unmetered.cpuRatio)}; ` +
      `MeteringModule adds ${channelNanos.toFixed(0)} ns to each unmetered response = ${percent(channelNanos / 1000 / bare.cpu)} of bare's ${bare.cpu.toFixed(1)} µs`,
  );
  console.log(
    `  floors, CPU capacity against the unmetered route of the same app: no-op guard ${percent(1 / cpuOver('no-op guard, metered app', 'unmetered route, metered app'))}, ` +
      `no-op interceptor ${percent(1 / cpuOver('no-op interceptor, metered app', 'unmetered route, metered app'))}`,
  );
  for (const customers of ['1 customer', '10k customers']) {
    const name = `@Meter, ${customers}`;
    const metered = byName.get(name);
    console.log(
      `  @Meter ≥ 95 % of bare, ${customers}: req/s ${percent(metered.rpsRatio)}, CPU capacity ${percent(metered.cpuRatio)}, ` +
        `against the unmetered route of the same app ${percent(1 / cpuOver(name, 'unmetered route, metered app'))}; ` +
        `metering code ${(metered.cost / 1000).toFixed(2)} µs timed in the server = ${percent(metered.cost / 1000 / bare.cpu)} of bare's ${bare.cpu.toFixed(1)} µs`,
    );
  }
  // Against the no-op interceptor of the same process: two processes differ by several % on their own.
  for (const customers of ['1 customer', '10k customers']) {
    const name = `interceptor, ${customers}`;
    const intercepted = byName.get(name);
    const added = iso(`MeteringInterceptor, ${customers}`) - iso(`no-op interceptor, ${customers}`);
    console.log(
      `  MeteringInterceptor over the no-op interceptor floor ≤ 2 %, ${customers}: CPU +${percent(cpuOver(name, 'no-op interceptor, metered app') - 1)} (same process), ` +
        `CPU capacity against the unmetered route ${percent(1 / cpuOver(name, 'unmetered route, metered app'))}; ` +
        `metering code ${(intercepted.cost / 1000).toFixed(2)} µs timed in the server = ${percent(intercepted.cost / 1000 / noopHere.cpu)} of the floor's ${noopHere.cpu.toFixed(1)} µs, ` +
        `${(added / 1000).toFixed(2)} µs called directly`,
    );
  }
  console.log(
    '\nthe metering code alone, called directly (2nd percentile of 300 interleaved samples of 200, ns per request):',
  );
  for (const [name, nanos] of Object.entries(isolatedNanos))
    console.log(`  ${name.padEnd(44)} ${nanos.toFixed(0).padStart(6)}`);
  for (const customers of ['1 customer', '10k customers']) {
    const floor = iso(`no-op interceptor, ${customers}`);
    console.log(
      `  added over the no-op interceptor, ${customers}: MeteringInterceptor ${(iso(`MeteringInterceptor, ${customers}`) - floor).toFixed(0)} ns, @Meter (MeteringGuard) ${(iso(`@Meter (MeteringGuard), ${customers}`) - floor).toFixed(0)} ns`,
    );
  }
  console.log('\nmetering code timed in the server, median single calls (before taking off the timer):');
  for (const line of timedParts) console.log(line);
  console.log(
    '\nreq/s on a 2-core machine shared with the load generator is noisy: read CPU µs/req and metering ns/req first.',
  );
}
