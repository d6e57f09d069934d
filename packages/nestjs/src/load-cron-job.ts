/** Finds the `cron` package `@nestjs/schedule` uses, for the module's cron-scheduled jobs. */
import { createRequire } from 'node:module';
import type { SchedulerRegistry } from '@nestjs/schedule';

/** The `CronJob` class `SchedulerRegistry.addCronJob()` takes. */
export type RegistryCronJob = Parameters<SchedulerRegistry['addCronJob']>[1];

interface CronJobClass {
  from(params: {
    cronTime: string;
    onTick: () => void;
    start: boolean;
    unrefTimeout: boolean;
  }): RegistryCronJob;
}

let loaded: Promise<CronJobClass> | undefined;

/**
 * Loads `cron` from where `@nestjs/schedule` resolves it, so the registry gets jobs of the very class (and version)
 * it was built against, without this package depending on `cron` itself. Only cron schedules need it.
 */
export function loadCronJob(): Promise<CronJobClass> {
  loaded ??= (async () => {
    const fromHere = createRequire(import.meta.url);
    const fromSchedule = createRequire(fromHere.resolve('@nestjs/schedule'));
    // `cron` is a CommonJS package: required (not imported by file URL) so the CommonJS build loads it the same way.
    const module = fromSchedule('cron') as { CronJob: CronJobClass };
    return module.CronJob;
  })();
  return loaded;
}
