/** createMetering(): the Express entry point, one engine with its meter() middleware, lifecycle and handlers. */
import type { Server } from 'node:http';
import {
  type CustomerRef,
  createMeteringEngine,
  type EngineStats,
  type FlushReport,
  type MeteringEngine,
  type UsageTags,
} from '@meterkit/core';
import { holdFinishChannel } from '@meterkit/core/http';
import { openAdapterStore } from '@meterkit/sqlite';
import type { RequestHandler } from 'express';
import { closeServer } from './close-server.js';
import { defaultSink } from './default-sink.js';
import { meterMiddleware } from './meter-middleware.js';
import { compileMeter, type MeterInput } from './meter-spec.js';
import { type AdapterCounters, MeteringContext } from './metering-context.js';
import { type ExpressMeteringOptions, splitOptions } from './options.js';

/** Options of {@link ExpressMetering.shutdown}. */
export interface ShutdownOptions {
  /** The HTTP server to close first, so requests in flight finish (and are counted) before the final send. */
  server?: Server;
  /** Bound on the whole shutdown. @default the engine's `shutdownTimeoutMillis` (30 s) */
  timeoutMillis?: number;
  /**
   * Part of `timeoutMillis` given to in-flight requests; connections still open after it are cut (those requests
   * count nothing) and the rest of the time goes to sending.
   * @default half of `timeoutMillis`
   */
  closeTimeoutMillis?: number;
}

/** What {@link createMetering} returns. Every member works detached: `const { meter } = createMetering(...)`. */
export interface ExpressMetering {
  /**
   * Route or router middleware that counts each request whose response finishes with a success status: one unit (or
   * `quantity`) per dimension. Checks every dimension now, so a wrong one fails where the route is declared.
   * @throws {MeteringConfigurationError} for an invalid or undeclared dimension, or a bad spec.
   * @example
   * ```ts
   * app.get('/v1/forecast', meter('api_calls'), handler);
   * app.post('/v1/reports', meter(['api_calls', 'reports']), handler);
   * app.get('/v1/export', meter({ dimension: 'export_kb', quantity: responseBytesIn(1024) }), handler);
   * app.use('/v1', meter('api_calls')); // every route under /v1
   * ```
   */
  meter(...specs: MeterInput[]): RequestHandler;
  /** Counts usage outside a request (a job, a queue consumer): the engine's `record()`. Never throws. */
  record(customer: CustomerRef, dimension: string, quantity?: number, tags?: UsageTags): boolean;
  /** Checkpoints, seals closed hours and sends what is due. */
  flush(options?: { timeoutMillis?: number }): Promise<FlushReport>;
  /**
   * Closes `server` (waiting for in-flight responses), then stops the engine: due records are sent; the default SQLite
   * store keeps the open hour for the next start, the memory store seals and sends it now. The process stays alive
   * until this settles. `report.left` says what was left unbilled and where; `exitCodeFor(report)` gives the exit code.
   * Idempotent: later calls return the first call's report.
   */
  shutdown(options?: ShutdownOptions): Promise<FlushReport>;
  /** Starts the engine (done for you unless `autoStart: false`); resolves when the store is open. Idempotent. */
  start(): Promise<void>;
  /** Engine and store figures. */
  stats(): Promise<EngineStats>;
  /** What the adapter counted that the engine never saw (missing customers, 503s, failed callbacks). */
  readonly counters: Readonly<AdapterCounters>;
  /** The engine underneath: events (`engine.events.on(...)`), options, `tick()`. */
  readonly engine: MeteringEngine;
}

/**
 * Sets up metering for an Express 4 or 5 app: validates every option now (typed errors naming the field), creates the
 * engine (with the AWS Marketplace sink unless `sink` is given) and starts it.
 * @throws {MeteringConfigurationError} for a missing `customer` resolver, an unknown key or an invalid value.
 * @example
 * ```ts
 * const metering = createMetering({
 *   productCode: 'prod-abc123',
 *   dimensions: ['api_calls'],
 *   customer: (req) => req.user?.billing, // set by your authentication
 * });
 * app.get('/v1/things', authenticate, metering.meter('api_calls'), handler);
 * ```
 */
export function createMetering(options: ExpressMeteringOptions): ExpressMetering {
  const { adapter, engine: engineOptions } = splitOptions(options);
  // Loading the AWS sink starts now; start() waits for it, so a missing SDK fails at start-up, not at the first send.
  const deferred = engineOptions.sink === undefined ? defaultSink(engineOptions.logger) : undefined;
  const engine = createMeteringEngine({
    ...engineOptions,
    sink: engineOptions.sink ?? deferred!.sink,
    store: openAdapterStore(engineOptions.store, adapter.storePath),
  });
  const context = new MeteringContext(engine, adapter);
  // Metered responses of Node's HTTP server are told finished through its diagnostics channel; released at shutdown,
  // once the server has closed (the engine counts nothing after that anyway).
  const releaseFinishChannel = holdFinishChannel();
  let started: Promise<void> | undefined;
  let shuttingDown: Promise<FlushReport> | undefined;

  const start = (): Promise<void> => {
    if (started === undefined) {
      started =
        deferred === undefined
          ? engine.start()
          : deferred.ready.then(() => {
              deferred.verify(engine.options.logger);
              return engine.start();
            });
      // Marks the promise handled so a failed start is logged rather than crashing; `start()` callers still see it.
      started.catch((error: unknown) =>
        engine.options.logger.error('the metering engine failed to start', {
          error: error instanceof Error ? error.message : String(error),
        }),
      );
    }
    return started;
  };

  const shutdown = (shutdownOptions: ShutdownOptions = {}): Promise<FlushReport> => {
    shuttingDown ??= (async () => {
      const o = engine.options;
      const total = shutdownOptions.timeoutMillis ?? o.shutdownTimeoutMillis;
      const begun = o.clock.now();
      if (shutdownOptions.server !== undefined) {
        const closeTimeout = shutdownOptions.closeTimeoutMillis ?? Math.floor(total / 2);
        const { forced } = await closeServer(shutdownOptions.server, closeTimeout, o.timers);
        if (forced) {
          o.logger.warn(
            `requests still running after ${closeTimeout} ms were cut at shutdown; they count nothing`,
          );
        }
      }
      await started?.catch(() => undefined);
      try {
        return await engine.shutdown({ timeoutMillis: Math.max(0, total - (o.clock.now() - begun)) });
      } finally {
        releaseFinishChannel();
      }
    })();
    return shuttingDown;
  };

  if (adapter.autoStart) void start().catch(() => undefined);

  return {
    meter: (...specs) => meterMiddleware(context, compileMeter(engine, adapter.successStatus, specs)),
    record: (customer, dimension, quantity, tags) =>
      tags === undefined
        ? engine.record(customer, dimension, quantity)
        : engine.record(customer, dimension, quantity, undefined, tags),
    flush: (flushOptions) => engine.forceFlush(flushOptions),
    shutdown,
    start,
    stats: () => engine.stats(),
    counters: context.counters,
    engine,
  };
}
