#!/usr/bin/env node
// What @meterkit/nestjs costs a Nest app (platform-express), against the BUILT packages (`npm run build` first).
//
// One server process hosts two apps: a bare one (a plain route, and the same route behind a no-op interceptor) and a
// metered one (a @Meter route, an unmetered route, and an experimental metered route that counts from a guard plus a
// `finish` listener instead of an interceptor). autocannon drives each route in turn, interleaved, for several rounds,
// with 1 and with 10,000 customers. The server reports its CPU time per request, and, in a separate timed pass, the
// time spent inside the metering code itself (req/s alone cannot resolve a microsecond).
//
// Usage: node bench/nestjs.mjs [--rounds 5] [--duration 2]
import 'reflect-metadata';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    server: { type: 'boolean', default: false },
    rounds: { type: 'string', default: '5' },
    duration: { type: 'string', default: '2' },
  },
});

if (args.server) await runServer();
else await runBench();

// ---------------------------------------------------------------------------------------------------------------
// Server side
// ---------------------------------------------------------------------------------------------------------------

async function runServer() {
  const { Controller, Get, Inject, Injectable, Module, UseGuards, UseInterceptors } = await import(
    '@nestjs/common'
  );
  const { NestFactory } = await import('@nestjs/core');
  const { ExpressAdapter } = await import('@nestjs/platform-express');
  const { Meter, MeteringInterceptor, MeteringModule, MeterMetadata, MeteringService } = await import(
    '@meterkit/nestjs'
  );
  const { silentLogger } = await import('@meterkit/core');

  /** Applies method decorators the way TypeScript does (bottom-up). */
  function decorate(cls, method, ...decorators) {
    const descriptor = Object.getOwnPropertyDescriptor(cls.prototype, method);
    const result = Reflect.decorate(decorators, cls.prototype, method, descriptor);
    Object.defineProperty(cls.prototype, method, result ?? descriptor);
  }

  // 10,000 "authenticated" customers; the bench client names one per request in `x-customer`.
  const customers = Array.from({ length: 10_000 }, (_, i) => ({
    awsAccountId: String(100000000000 + i),
    licenseArn: `arn:aws:license-manager::${100000000000 + i}:license:l-bench${String(i).padStart(12, '0')}`,
  }));
  const customerOf = (context) =>
    customers[Number(context.switchToHttp().getRequest().headers['x-customer'])];

  /** A sink that accepts everything: the bench measures the request path, not AWS. */
  const nullSink = {
    name: 'null',
    maxBatchSize: 25,
    maxBatchBytes: 1_000_000,
    estimateRecordBytes: () => 300,
    async export(records) {
      return {
        status: 'done',
        outcomes: records.map((r) => ({ id: r.id, status: 'success', meteringRecordId: undefined })),
      };
    },
  };

  class NoopInterceptor {
    intercept(_context, next) {
      return next.handle();
    }
  }
  Injectable()(NoopInterceptor);

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

  // The experiment: count from a guard and the response's `finish` (2xx/3xx), no interceptor and no observable.
  // It keeps the customer resolver, several dimensions, status-based success and abort safety; it cannot see the
  // handler's result (quantities from the result) nor tell a thrown exception mapped to 2xx by a filter.
  const GUARD_STATE = Symbol('guardState');
  function onGuardFinish() {
    const state = this[GUARD_STATE];
    if (this.statusCode < 200 || this.statusCode >= 400) return;
    for (const { dimension, quantity } of state.meters)
      state.engine.record(state.customer, dimension, quantity);
  }
  class FinishMeteringGuard {
    constructor(metering) {
      this.engine = metering.engine;
      this.routes = new WeakMap();
    }
    canActivate(context) {
      const handler = context.getHandler();
      let meters = this.routes.get(handler);
      if (meters === undefined) {
        meters = Reflect.getMetadata(MeterMetadata.KEY, handler);
        this.routes.set(handler, meters);
      }
      const customer = customerOf(context);
      if (customer === undefined) return true;
      const res = context.getArgByIndex(1);
      res[GUARD_STATE] = { engine: this.engine, meters, customer };
      res.on('finish', onGuardFinish);
      return true;
    }
  }
  Inject(MeteringService)(FinishMeteringGuard, undefined, 0);
  Injectable()(FinishMeteringGuard);

  class MeteredController {
    metered() {
      return { ok: true };
    }
    unmetered() {
      return { ok: true };
    }
    guarded() {
      return { ok: true };
    }
  }
  decorate(MeteredController, 'metered', Get('metered'), Meter('api_calls'));
  decorate(MeteredController, 'unmetered', Get('unmetered'));
  decorate(
    MeteredController,
    'guarded',
    Get('guarded'),
    MeterMetadata([
      { dimension: 'api_calls', quantity: 1, when: undefined, successStatus: undefined, usesResult: false },
    ]),
    UseGuards(FinishMeteringGuard),
  );
  Controller()(MeteredController);

  class BareModule {}
  Module({ controllers: [BareController] })(BareModule);
  class MeteredModule {}
  Module({
    imports: [
      MeteringModule.forRoot({
        sink: nullSink,
        productCode: 'prod-bench',
        dimensions: ['api_calls'],
        customer: customerOf,
        logger: silentLogger,
      }),
    ],
    controllers: [MeteredController],
  })(MeteredModule);

  const options = { logger: false };
  const bare = await NestFactory.create(BareModule, new ExpressAdapter(), options);
  await bare.listen(0, '127.0.0.1');
  const metered = await NestFactory.create(MeteredModule, new ExpressAdapter(), options);
  await metered.listen(0, '127.0.0.1');

  // The timed pass wraps the metering code in hrtime; off by default so throughput rounds run the real code.
  let timing = false;
  let meteringNanos = 0n;
  function timed(target, method) {
    const original = target[method];
    target[method] = function (...params) {
      if (!timing) return original.apply(this, params);
      const start = process.hrtime.bigint();
      try {
        return original.apply(this, params);
      } finally {
        meteringNanos += process.hrtime.bigint() - start;
      }
    };
  }
  timed(MeteringInterceptor.prototype, 'intercept');
  timed(MeteringInterceptor.prototype, 'settleResponse');
  timed(FinishMeteringGuard.prototype, 'canActivate');
  const guardFinish = onGuardFinish;
  // The guard's finish listener is a plain function: time it through the state object instead.
  FinishMeteringGuard.prototype.canActivate = ((original) =>
    function (context) {
      const result = original.call(this, context);
      const state = context.getArgByIndex(1)[GUARD_STATE];
      if (timing && state !== undefined && !state.timed) {
        state.timed = true;
        const res = context.getArgByIndex(1);
        res.removeListener('finish', guardFinish);
        res.on('finish', function () {
          const start = process.hrtime.bigint();
          guardFinish.call(this);
          meteringNanos += process.hrtime.bigint() - start;
        });
      }
      return result;
    })(FinishMeteringGuard.prototype.canActivate);

  // The metering code alone, called directly the way Nest calls it (context, next, subscribe), against a no-op
  // interceptor doing the same dance. Responses are built the way Node's server and Express build them (a
  // ServerResponse on a server socket, Node's own `finish` listener, Express's prototype swapped in), and finish the
  // way Node's server finishes them (`finish`, then `http.server.response.finish` when someone listens). Short
  // samples interleaved across variants, reported at a low percentile: robust on a machine shared with other work.
  async function isolated() {
    const { ExecutionContextHost } = await import('@nestjs/core/helpers/execution-context-host.js');
    const { channel } = await import('node:diagnostics_channel');
    const { IncomingMessage, ServerResponse } = await import('node:http');
    const { Socket } = await import('node:net');
    const { of } = await import('rxjs');
    const interceptor = metered.get(MeteringInterceptor, { strict: false });
    const guard = new FinishMeteringGuard(metered.get(MeteringService, { strict: false }));
    const noop = new NoopInterceptor();
    const source = of({ ok: true });
    const next = { handle: () => source };
    const ignore = () => {};
    const expressApp = metered.getHttpAdapter().getInstance();
    const server = metered.getHttpServer();
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
        return { context, res, message: { request: req, response: res, socket, server } };
      });
    }
    function finish({ res, message }) {
      res.emit('finish');
      if (finishChannel.hasSubscribers) finishChannel.publish(message);
    }
    const runs = {
      'no-op interceptor': (r) => {
        noop.intercept(r.context, next).subscribe(ignore);
        finish(r);
      },
      '@Meter interceptor': (r) => {
        interceptor.intercept(r.context, next).subscribe(ignore);
        finish(r);
      },
      'guard+finish': (r) => {
        guard.canActivate(r.context);
        finish(r);
      },
    };
    const results = {};
    for (const customerCount of [1, 10_000]) {
      const nanos = Object.fromEntries(Object.keys(runs).map((name) => [name, []]));
      for (let sample = 0; sample < samples; sample++) {
        for (const [name, run] of Object.entries(runs)) {
          const handler =
            name === 'guard+finish'
              ? MeteredController.prototype.guarded
              : MeteredController.prototype.metered;
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

  let cpuStart = process.cpuUsage();
  process.on('message', async (message) => {
    switch (message.cmd) {
      case 'start':
        if (global.gc) global.gc();
        timing = message.timed === true;
        meteringNanos = 0n;
        cpuStart = process.cpuUsage();
        process.send({ cmd: 'started' });
        break;
      case 'stop': {
        const cpu = process.cpuUsage(cpuStart);
        timing = false;
        process.send({
          cmd: 'stopped',
          cpuMicros: cpu.user + cpu.system,
          meteringNanos: Number(meteringNanos),
        });
        break;
      }
      case 'isolated':
        process.send({ cmd: 'isolated', results: await isolated() });
        break;
      case 'close':
        await bare.close();
        await metered.close();
        process.exit(0);
    }
  });
  process.send({ cmd: 'ready', bare: await bare.getUrl(), metered: await metered.getUrl() });
}

// ---------------------------------------------------------------------------------------------------------------
// Client side
// ---------------------------------------------------------------------------------------------------------------

async function runBench() {
  const { default: autocannon } = await import('autocannon');
  const rounds = Number(args.rounds);
  const duration = Number(args.duration);
  const server = fork(fileURLToPath(import.meta.url), ['--server'], { execArgv: ['--expose-gc'] });
  const replies = [];
  const waiters = [];
  server.on('message', (message) => {
    const waiter = waiters.shift();
    if (waiter) waiter(message);
    else replies.push(message);
  });
  const next = () =>
    replies.length > 0 ? Promise.resolve(replies.shift()) : new Promise((r) => waiters.push(r));
  const ask = async (message) => {
    server.send(message);
    return next();
  };
  const urls = await next();

  const scenarios = [
    { name: 'bare route', url: `${urls.bare}/bare`, customers: 1 },
    { name: 'no-op interceptor', url: `${urls.bare}/noop`, customers: 1 },
    { name: 'unmetered route, metered app', url: `${urls.metered}/unmetered`, customers: 1 },
    { name: '@Meter, 1 customer', url: `${urls.metered}/metered`, customers: 1, timed: true },
    { name: '@Meter, 10k customers', url: `${urls.metered}/metered`, customers: 10_000, timed: true },
    { name: 'guard+finish, 1 customer', url: `${urls.metered}/guarded`, customers: 1, timed: true },
    { name: 'guard+finish, 10k customers', url: `${urls.metered}/guarded`, customers: 10_000, timed: true },
  ];

  function load(scenario, seconds) {
    let counter = 0;
    return autocannon({
      url: scenario.url,
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
    await ask({ cmd: 'start', timed });
    const result = await load(scenario, seconds);
    const stats = await ask({ cmd: 'stop' });
    const requests = result.requests.total;
    if (result.non2xx > 0 || result.errors > 0)
      throw new Error(`${scenario.name}: ${result.non2xx} non-2xx, ${result.errors} errors`);
    return {
      rps: result.requests.average,
      p99: result.latency.p99,
      cpuMicrosPerRequest: stats.cpuMicros / requests,
      meteringNanosPerRequest: stats.meteringNanos / requests,
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

  // The metering code's own time, measured in the server with hrtime around it (a separate pass: the timer costs too).
  const costs = new Map();
  for (const scenario of scenarios.filter((s) => s.timed)) {
    costs.set(scenario.name, (await measure(scenario, duration, true)).meteringNanosPerRequest);
  }
  const { results: isolatedNanos } = await ask({ cmd: 'isolated' });
  server.send({ cmd: 'close' });

  const median = (values) => {
    const sorted = [...values].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  };
  const summary = scenarios.map((s) => {
    const list = samples.get(s.name);
    return {
      name: s.name,
      rps: median(list.map((x) => x.rps)),
      p99: median(list.map((x) => x.p99)),
      cpu: median(list.map((x) => x.cpuMicrosPerRequest)),
      cost: costs.get(s.name),
    };
  });
  const bare = summary[0];
  const noop = summary[1];
  console.log(
    `\nmedians of ${rounds} interleaved rounds of ${duration}s, 20 connections, platform-express\n`,
  );
  console.log(
    `${'route'.padEnd(30)} ${'req/s'.padStart(8)} ${'p99 ms'.padStart(7)} ${'CPU µs/req'.padStart(11)} ${'metering ns/req'.padStart(16)} ${'req/s vs bare'.padStart(14)} ${'CPU vs no-op'.padStart(13)}`,
  );
  for (const row of summary) {
    console.log(
      `${row.name.padEnd(30)} ${row.rps.toFixed(0).padStart(8)} ${String(row.p99).padStart(7)} ${row.cpu.toFixed(1).padStart(11)} ${(row.cost === undefined ? '-' : row.cost.toFixed(0)).padStart(16)} ${`${((row.rps / bare.rps) * 100).toFixed(1)} %`.padStart(14)} ${`${(((row.cpu - noop.cpu) / noop.cpu) * 100).toFixed(1)} %`.padStart(13)}`,
    );
  }
  const byName = new Map(summary.map((r) => [r.name, r]));
  const unmetered = byName.get('unmetered route, metered app');
  const metered = byName.get('@Meter, 1 customer');
  console.log('\ntargets:');
  console.log(
    `  unmetered route in a metered app ≥ 99 % of bare: ${((unmetered.rps / bare.rps) * 100).toFixed(1)} %`,
  );
  console.log(
    `  @Meter over the no-op interceptor floor ≤ 2 %: req/s ${(((noop.rps - metered.rps) / noop.rps) * 100).toFixed(1)} %, CPU ${(((metered.cpu - noop.cpu) / noop.cpu) * 100).toFixed(1)} %, metering code ${(metered.cost / 1000).toFixed(2)} µs of ${noop.cpu.toFixed(1)} µs`,
  );
  const guarded = byName.get('guard+finish, 1 customer');
  console.log(
    `  guard+finish metered route ≥ 95 % of bare: ${((guarded.rps / bare.rps) * 100).toFixed(1)} %`,
  );
  console.log(
    '\nthe metering code alone, called directly (2nd percentile of 300 interleaved samples of 200, ns per request):',
  );
  for (const [name, nanos] of Object.entries(isolatedNanos))
    console.log(`  ${name.padEnd(36)} ${nanos.toFixed(0).padStart(6)}`);
  for (const customers of ['1 customer', '10k customers']) {
    const floor = isolatedNanos[`no-op interceptor, ${customers}`];
    console.log(
      `  added over the no-op interceptor, ${customers}: @Meter ${(isolatedNanos[`@Meter interceptor, ${customers}`] - floor).toFixed(0)} ns, guard+finish ${(isolatedNanos[`guard+finish, ${customers}`] - floor).toFixed(0)} ns`,
    );
  }
  console.log(
    '\nreq/s on a 2-core machine shared with the load generator is noisy: read CPU µs/req and metering ns/req first.',
  );
}
