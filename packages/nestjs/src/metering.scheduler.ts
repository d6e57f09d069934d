import { exitCodeFor, MeteringConfigurationError, type MeteringEngine } from '@meterkit/core';
import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  Optional,
} from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { loadCronJob, type RegistryCronJob } from './load-cron-job.js';
import { METERING_ADAPTER_OPTIONS, METERING_ENGINE, METERING_JOBS } from './metering.constants.js';
import { messages } from './metering.messages.js';
import type { MeteringJobSchedule, ResolvedAdapterOptions } from './metering-module-options.interface.js';

type JobName = (typeof METERING_JOBS)[keyof typeof METERING_JOBS];

/**
 * Runs the engine's life in Nest's: starts it and adds its jobs to `SchedulerRegistry` at bootstrap (the app's, when
 * it imports `ScheduleModule.forRoot()`), and drains it at shutdown. The drain runs in `onApplicationShutdown`, after Nest has closed the HTTP server, so every response has
 * been counted by then; it needs `app.enableShutdownHooks()` to run on SIGTERM.
 */
@Injectable()
export class MeteringScheduler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly jobs: { name: JobName; kind: 'interval' | 'cron' }[] = [];
  private readonly running = new Set<JobName>();
  private readonly registry: SchedulerRegistry;

  constructor(
    @Inject(METERING_ENGINE) private readonly engine: MeteringEngine,
    @Inject(METERING_ADAPTER_OPTIONS) private readonly options: ResolvedAdapterOptions,
    // The app's registry when it imports ScheduleModule.forRoot(); otherwise one of our own. Importing
    // ScheduleModule.forRoot() here instead would give the app a second ScheduleModule running its @Cron jobs twice.
    @Optional() registry?: SchedulerRegistry,
  ) {
    this.registry = registry ?? new SchedulerRegistry();
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.engine.start();
    if (this.options.scheduling !== 'external') return;
    await this.addJob(METERING_JOBS.checkpoint, this.options.schedule.checkpoint, () =>
      this.engine.checkpoint(),
    );
    await this.addJob(METERING_JOBS.dispatch, this.options.schedule.dispatch, () => this.engine.tick());
  }

  async onApplicationShutdown(signal?: string): Promise<void> {
    this.removeJobs();
    // The engine holds the process open until this settles, so Nest's signal handler waits for the whole drain.
    const report = await this.engine.shutdown();
    if (report.timedOut) {
      this.engine.options.logger.warn('shutdown: the final drain timed out', { pending: report.pending });
    }
    const code = exitCodeFor(report);
    if (signal !== undefined && code !== undefined) exitWithCodeAfterSignal(signal, code);
  }

  private async addJob(
    name: JobName,
    schedule: MeteringJobSchedule,
    work: () => Promise<unknown>,
  ): Promise<void> {
    const run = (): void => {
      // One run at a time: a slow store must not pile up runs behind it.
      if (this.running.has(name)) return;
      this.running.add(name);
      work()
        .catch((error: unknown) => {
          this.engine.options.logger.error(messages.jobFailed(name), {
            error: error instanceof Error ? error.message : String(error),
          });
        })
        .finally(() => this.running.delete(name));
    };
    if (typeof schedule === 'number') {
      const handle = setInterval(run, schedule);
      // Metering alone must never keep the process alive.
      handle.unref();
      this.registry.addInterval(name, handle);
      this.jobs.push({ name, kind: 'interval' });
    } else {
      const CronJob = await loadCronJob();
      let job: RegistryCronJob;
      try {
        job = CronJob.from({ cronTime: schedule, onTick: run, start: true, unrefTimeout: true });
      } catch (error) {
        const field = `schedule.${name === METERING_JOBS.checkpoint ? 'checkpoint' : 'dispatch'}`;
        throw new MeteringConfigurationError(
          'ERR_METERING_INVALID_OPTION',
          field,
          messages.invalidOption(field, schedule, `a valid cron expression (${String(error)})`),
          { cause: error },
        );
      }
      this.registry.addCronJob(name, job);
      this.jobs.push({ name, kind: 'cron' });
    }
  }

  private removeJobs(): void {
    for (const { name, kind } of this.jobs.splice(0)) {
      if (!this.registry.doesExist(kind, name)) continue;
      if (kind === 'interval') this.registry.deleteInterval(name);
      else this.registry.deleteCronJob(name);
    }
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
