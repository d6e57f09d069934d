/** DI tokens and job names of the metering module. */

/**
 * DI token of the {@link MeteringEngine} the module creates, kept for apps written before the engine was provided
 * under its class: `@Inject(METERING_ENGINE)` and injecting `MeteringEngine` by type give the same instance.
 */
export const METERING_ENGINE = Symbol('METERING_ENGINE');

/** @internal DI token of the module's resolved options (`ResolvedMeteringOptions`), validated once. */
export const METERING_ADAPTER_OPTIONS = Symbol('METERING_ADAPTER_OPTIONS');

/** Names of the jobs the module adds to `@nestjs/schedule`'s `SchedulerRegistry`. */
export const METERING_JOBS = {
  /** Moves counts from the request path into the store. */
  checkpoint: 'meterkit:checkpoint',
  /** Seals closed hours and sends due records. */
  dispatch: 'meterkit:dispatch',
} as const;

/** @internal DI token: whether the app registered a global `MeteringInterceptor` (`globalInterceptor`). */
export const METERING_GLOBAL_INTERCEPTOR = Symbol('METERING_GLOBAL_INTERCEPTOR');
