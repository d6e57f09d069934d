/** The module's background jobs in `@nestjs/schedule`'s `SchedulerRegistry`: intervals or cron, never overlapping. */
import { MeteringConfigurationError, type MeteringLogger } from '@meterkit/core';
import type { SchedulerRegistry } from '@nestjs/schedule';
import { loadCronJob, type RegistryCronJob } from './load-cron-job.js';
import { METERING_JOBS } from './metering.constants.js';
import { messages } from './metering.messages.js';
import type { MeteringJobSchedule } from './metering-options.js';

type JobName = (typeof METERING_JOBS)[keyof typeof METERING_JOBS];

/**
 * @internal Adds jobs to a registry and removes them again. A job never overlaps itself (a slow store must not pile
 * up runs behind it) and never dies (a failure is logged and the job runs again on its next turn).
 */
export class MeteringJobs {
  private readonly added: { name: JobName; kind: 'interval' | 'cron' }[] = [];
  private readonly running = new Set<JobName>();

  constructor(
    private readonly registry: SchedulerRegistry,
    private readonly logger: MeteringLogger,
  ) {}

  /** @throws {MeteringConfigurationError} when `schedule` is not a cron expression `cron` accepts. */
  async add(name: JobName, schedule: MeteringJobSchedule, work: () => Promise<unknown>): Promise<void> {
    const run = (): void => {
      if (this.running.has(name)) return;
      this.running.add(name);
      work()
        .catch((error: unknown) => {
          this.logger.error(messages.jobFailed(name), {
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
      this.added.push({ name, kind: 'interval' });
      return;
    }
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
    this.added.push({ name, kind: 'cron' });
  }

  /** Removes every job this added that is still in the registry (the app may have removed one itself). */
  removeAll(): void {
    for (const { name, kind } of this.added.splice(0)) {
      if (!this.registry.doesExist(kind, name)) continue;
      if (kind === 'interval') this.registry.deleteInterval(name);
      else this.registry.deleteCronJob(name);
    }
  }
}
