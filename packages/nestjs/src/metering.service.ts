import type {
  CustomerRef,
  EngineStats,
  FlushReport,
  MeteringEngine,
  MeteringEventEmitter,
  UsageTags,
} from '@meterkit/core';
import { holdFinishChannel } from '@meterkit/core/http';
import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { METERING_ENGINE } from './metering.constants.js';

/** The engine's statistics plus what the Nest adapter counts itself. */
export interface MeteringStats extends EngineStats {
  /**
   * Successful responses on metered routes for which the resolver found no customer (so nothing was billed), since
   * start-up. Each one is also reported as a `usage.rejected` event with reason `missing-customer`.
   */
  requestsWithoutCustomer: number;
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
export class MeteringService implements OnModuleInit, OnApplicationShutdown {
  #requestsWithoutCustomer = 0;
  #releaseFinishChannel: (() => void) | undefined;

  constructor(@Inject(METERING_ENGINE) readonly engine: MeteringEngine) {}

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
    return { ...(await this.engine.stats()), requestsWithoutCustomer: this.#requestsWithoutCustomer };
  }

  /** @internal Metered responses of Node's HTTP server are told finished through its diagnostics channel. */
  onModuleInit(): void {
    this.#releaseFinishChannel ??= holdFinishChannel();
  }

  /** @internal Runs after Nest has closed the HTTP server: no metered response is still waiting. */
  onApplicationShutdown(): void {
    this.#releaseFinishChannel?.();
    this.#releaseFinishChannel = undefined;
  }

  /** @internal Called by the interceptor for a served response nobody can be billed for. */
  noteRequestWithoutCustomer(): void {
    this.#requestsWithoutCustomer += 1;
  }
}
