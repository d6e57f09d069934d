// MeteringJobs: the module's background jobs never overlap themselves, outlive failures, and leave when removed.
import type { MeteringLogger } from '@meterkit/core';
import { SchedulerRegistry } from '@nestjs/schedule';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { METERING_JOBS } from '../src/index.js';
import { MeteringJobs } from '../src/metering-jobs.js';

function recordingLogger(errors: string[]): MeteringLogger {
  return { debug() {}, info() {}, warn() {}, error: (message) => errors.push(message) };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('MeteringJobs', () => {
  it('skips a turn while the previous run of the job is still going', async () => {
    const registry = new SchedulerRegistry();
    const jobs = new MeteringJobs(registry, recordingLogger([]));
    let runs = 0;
    let finish: () => void = () => {};
    await jobs.add(METERING_JOBS.checkpoint, 100, () => {
      runs += 1;
      return new Promise<void>((resolve) => {
        finish = resolve;
      });
    });
    await vi.advanceTimersByTimeAsync(350);
    expect(runs).toBe(1);
    finish();
    await vi.advanceTimersByTimeAsync(100);
    expect(runs).toBe(2);
    jobs.removeAll();
  });

  it('logs a failed run and runs the job again on its next turn', async () => {
    const errors: string[] = [];
    const jobs = new MeteringJobs(new SchedulerRegistry(), recordingLogger(errors));
    let runs = 0;
    await jobs.add(METERING_JOBS.dispatch, 100, async () => {
      runs += 1;
      throw new Error('store down');
    });
    await vi.advanceTimersByTimeAsync(200);
    expect(runs).toBe(2);
    expect(errors).toHaveLength(2);
    expect(errors[0]).toContain(METERING_JOBS.dispatch);
    jobs.removeAll();
  });

  it('removes its jobs, those the app removed first included, and runs them no more', async () => {
    const registry = new SchedulerRegistry();
    const jobs = new MeteringJobs(registry, recordingLogger([]));
    let runs = 0;
    const work = async () => {
      runs += 1;
    };
    await jobs.add(METERING_JOBS.checkpoint, 100, work);
    await jobs.add(METERING_JOBS.dispatch, '*/1 * * * * *', work);
    registry.deleteInterval(METERING_JOBS.checkpoint);
    jobs.removeAll();
    expect(registry.getIntervals()).toEqual([]);
    expect([...registry.getCronJobs().keys()]).toEqual([]);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(runs).toBe(0);
  });
});
