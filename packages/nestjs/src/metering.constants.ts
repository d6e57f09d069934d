/** DI token of the {@link MeteringEngine} the module creates. Inject it with `@Inject(METERING_ENGINE)`. */
export const METERING_ENGINE = Symbol('METERING_ENGINE');

/** @internal DI token of the module's own (non-engine) options, resolved and validated. */
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
