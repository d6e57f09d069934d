// A @nestjs/terminus health indicator for metering: down when records near the service window, dead letters pile up or the sink fails.
import { MeteringEngine } from '@meterkit/core';
import { MeteringHealth, type MeteringHealthOptions } from '@meterkit/core/ops';
import { Inject, Injectable, type OnModuleDestroy, Optional } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';

/** DI token of the {@link MeteringHealthOptions} the indicator uses. */
export const METERING_HEALTH_OPTIONS = Symbol('METERING_HEALTH_OPTIONS');

/**
 * Reports metering to Terminus under a key of your choice: `up` with the checks, or `down` when the oldest pending
 * record has less than `minWindowLeftMillis` left in the service window, more than `maxDeadLetters` dead letters
 * wait, or the sink has failed for longer than `maxSinkFailureMillis`. Follows the sink's calls from app start.
 *
 * @example
 * ```ts
 * @Get('health')
 * @HealthCheck()
 * check() {
 *   return this.health.check([() => this.metering.isHealthy('metering')]);
 * }
 * ```
 */
@Injectable()
export class MeteringHealthIndicator implements OnModuleDestroy {
  readonly #health: MeteringHealth;

  constructor(
    @Inject(MeteringEngine) engine: MeteringEngine,
    private readonly indicators: HealthIndicatorService,
    @Optional() @Inject(METERING_HEALTH_OPTIONS) options?: MeteringHealthOptions,
  ) {
    this.#health = new MeteringHealth(engine, options ?? {});
  }

  async isHealthy<const Key extends string>(key: Key) {
    const { healthy, ...report } = await this.#health.check();
    const indicator = this.indicators.check(key);
    return healthy ? indicator.up(report) : indicator.down(report);
  }

  onModuleDestroy(): void {
    this.#health.close();
  }
}
