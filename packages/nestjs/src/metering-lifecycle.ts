/** Runs the engine's life in the app's: the finish channel, start, jobs, the final drain and the exit code. */
import { exitCodeFor, MeteringEngine } from '@meterkit/core';
import { holdFinishChannel } from '@meterkit/core/http';
import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type OnModuleInit,
  Optional,
} from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { METERING_ADAPTER_OPTIONS, METERING_JOBS } from './metering.constants.js';
import { MeteringJobs } from './metering-jobs.js';
import type { ResolvedMeteringOptions } from './metering-options.js';

/**
 * Owns the engine's life inside the app's:
 * - `onModuleInit`: holds Node's `http.server.response.finish` diagnostics channel, which tells metered responses
 *   they have finished (before the app listens);
 * - `onApplicationBootstrap`: starts the engine and, with `scheduling: 'external'`, adds the checkpoint and dispatch
 *   jobs to `SchedulerRegistry` (the app's, when it imports `ScheduleModule.forRoot()`);
 * - `onApplicationShutdown`: runs after Nest has closed the HTTP server, so every response has been counted; removes
 *   the jobs, releases the channel, drains the engine and, after a signal that lost usage, sets the exit code. It
 *   needs `app.enableShutdownHooks()` to run on SIGTERM.
 *
 * With external scheduling the engine keeps one timer of its own, at each UTC hour boundary, which moves new counts
 * into the new hour on the dot; the jobs, at whatever phase they run, cannot.
 */
@Injectable()
export class MeteringLifecycle implements OnModuleInit, OnApplicationBootstrap, OnApplicationShutdown {
  private readonly jobs: MeteringJobs;
  #releaseFinishChannel: (() => void) | undefined;

  constructor(
    @Inject(MeteringEngine) private readonly engine: MeteringEngine,
    @Inject(METERING_ADAPTER_OPTIONS) private readonly options: ResolvedMeteringOptions,
    // The app's registry when it imports ScheduleModule.forRoot(); otherwise one of our own. Importing
    // ScheduleModule.forRoot() here instead would give the app a second ScheduleModule running its @Cron jobs twice.
    @Optional() registry?: SchedulerRegistry,
  ) {
    this.jobs = new MeteringJobs(registry ?? new SchedulerRegistry(), engine.options.logger);
  }

  onModuleInit(): void {
    this.#releaseFinishChannel ??= holdFinishChannel();
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.engine.start();
    if (this.options.scheduling !== 'external') return;
    const { checkpoint, dispatch } = this.options.schedule;
    const engine = this.engine;
    await this.jobs.add(METERING_JOBS.checkpoint, checkpoint ?? engine.options.checkpointMillis, () =>
      engine.checkpoint(),
    );
    await this.jobs.add(METERING_JOBS.dispatch, dispatch ?? engine.options.dispatchIntervalMillis, () =>
      engine.tick(),
    );
  }

  async onApplicationShutdown(signal?: string): Promise<void> {
    this.jobs.removeAll();
    // Nest has closed the HTTP server: no metered response is still waiting for its finish.
    this.#releaseFinishChannel?.();
    this.#releaseFinishChannel = undefined;
    // The engine holds the process open until this settles, so Nest's signal handler waits for the whole drain.
    const report = await this.engine.shutdown();
    if (report.timedOut) {
      this.engine.options.logger.warn('shutdown: the final drain timed out', { pending: report.pending });
    }
    const code = exitCodeFor(report);
    if (signal !== undefined && code !== undefined) exitWithCodeAfterSignal(signal, code);
  }
}

/**
 * Usage was lost at a signal-driven shutdown: make the process end with `code` instead of "killed by signal", so
 * the loss shows in the exit status. Nest re-raises the signal once every hook has run (`process.kill`), or calls
 * `process.exit(0)` with `useProcessExit`; both paths are taken here, after the other modules' hooks have run.
 */
function exitWithCodeAfterSignal(signal: string, code: number): void {
  process.exitCode = code;
  process.once(signal as NodeJS.Signals, () => process.exit(code));
  process.once('exit', () => {
    process.exitCode = code;
  });
}
