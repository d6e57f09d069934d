/** MeteringService, the facade apps inject: usage outside HTTP, flushes, statistics, counters and events. */
import {
  type CustomerRef,
  type EngineStats,
  type FlushReport,
  MeteringEngine,
  type MeteringEventEmitter,
  type UsageTags,
} from '@meterkit/core';
import type { HttpMeteringCounters } from '@meterkit/core/http';
import { Inject, Injectable } from '@nestjs/common';
import { RequestMeteringService } from './request-metering.service.js';

/** The engine's statistics plus what the Nest adapter counts itself. */
export interface MeteringStats extends EngineStats {
  /**
   * Dimensions of served responses on metered routes for which the resolver found no customer (so nothing was
   * billed), since start-up: `http.servedWithoutCustomer`. Each one is also reported as a `usage.rejected` event with
   * reason `missing-customer`.
   */
  requestsWithoutCustomer: number;
  /** What the HTTP metering counted that the engine never billed (the same counters as the Express adapter's). */
  http: HttpMeteringCounters;
}

/**
 * Metering from anywhere in the app: usage outside HTTP (queue consumers, cron jobs), flushes, statistics and events.
 *
 * @example
 * ```ts
 * @Injectable()
 * export class ReportWorker {
 *   constructor(private readonly metering: MeteringService) {}
 *   async handle(job: ReportJob) {
 *     await render(job);
 *     this.metering.record(job.customer, 'reports');
 *   }
 * }
 * ```
 */
@Injectable()
export class MeteringService {
  constructor(
    @Inject(MeteringEngine) readonly engine: MeteringEngine,
    private readonly requests: RequestMeteringService,
  ) {}

  /** What the HTTP metering counted that the engine never billed; live values. */
  get counters(): Readonly<HttpMeteringCounters> {
    return this.requests.policy.counters;
  }

  /** Outcomes of counting, sealing and sending (`record.accepted`, `record.dead-lettered`, `usage.rejected`, …). */
  get events(): MeteringEventEmitter {
    return this.engine.events;
  }

  /**
   * Counts `quantity` units of `dimension` for `customer` in the current hour (or the hour of `at`, epoch ms).
   * Synchronous and never throws; returns false when nothing was counted (the reason goes to `usage.rejected`).
   * With `tags`, the units are allocated to that tag set inside the hour's record (see `MeteringEngine.record`).
   */
  record(
    customer: CustomerRef,
    dimension: string,
    quantity?: number,
    at?: number,
    tags?: UsageTags,
  ): boolean {
    return this.engine.record(customer, dimension, quantity, at, tags);
  }

  /**
   * Checkpoints, seals closed hours and sends what is due, within `timeoutMillis`. The open hour is never sealed
   * early (that happens only at shutdown with the memory store).
   */
  flush(options?: { timeoutMillis?: number }): Promise<FlushReport> {
    return this.engine.forceFlush(options);
  }

  async stats(): Promise<MeteringStats> {
    const http = { ...this.requests.policy.counters };
    return { ...(await this.engine.stats()), requestsWithoutCustomer: http.servedWithoutCustomer, http };
  }
}
