import {
  createMeteringEngine,
  MeteringConfigurationError,
  type MeteringEngine,
  type MeteringLogger,
  type MeteringOptions,
  type UsageSink,
} from '@meterkit/core';
import { splitAdapterOptions } from '@meterkit/core/adapter';
import { isServedStatus } from '@meterkit/core/http';
import { type AdapterStoreOption, openAdapterStore } from '@meterkit/sqlite';
import { messages } from './metering.messages.js';
import type {
  MeteringAdapterOptions,
  MeteringJobSchedule,
  MeteringModuleOptions,
  ResolvedAdapterOptions,
} from './metering-module-options.interface.js';
import { nestMeteringLogger } from './nest-metering-logger.js';

type KeysEnum<T> = { [K in keyof Required<T>]: true };
const adapterOptionKeys: KeysEnum<MeteringAdapterOptions> = {
  customer: true,
  successStatus: true,
  onMissingCustomer: true,
  schedule: true,
  storePath: true,
};

function fail(field: string, value: unknown, rule: string): never {
  throw new MeteringConfigurationError(
    'ERR_METERING_INVALID_OPTION',
    field,
    messages.invalidOption(field, value, rule),
  );
}

/** Splits the module's options into the engine's and the adapter's; a key neither knows is refused. */
function split(options: MeteringModuleOptions): {
  engine: Partial<Omit<MeteringOptions, 'store'>> & { store?: AdapterStoreOption };
  adapter: MeteringAdapterOptions;
} {
  if (options === null || typeof options !== 'object') fail('options', options, 'an object');
  const { engine, adapter } = splitAdapterOptions(options, adapterOptionKeys, messages.unknownOption);
  return {
    engine: engine as Partial<Omit<MeteringOptions, 'store'>> & { store?: AdapterStoreOption },
    adapter: adapter as unknown as MeteringAdapterOptions,
  };
}

function jobSchedule(field: string, value: unknown, fallback: number): MeteringJobSchedule {
  if (value === undefined) return fallback;
  if (typeof value === 'number' && Number.isInteger(value) && value >= 10) return value;
  if (typeof value === 'string' && value.trim().split(/\s+/).length >= 5) return value;
  return fail(field, value, 'an interval in milliseconds (an integer ≥ 10) or a cron expression');
}

/** The AWS sink, loaded only when no sink was given (so apps with their own sink never load the AWS SDK). */
async function defaultSink(logger: MeteringLogger): Promise<UsageSink> {
  try {
    const { MarketplaceMeteringSink, verifyAwsSetup } = await import('@meterkit/aws-marketplace');
    const sink = new MarketplaceMeteringSink({ logger });
    // A missing region or credentials is logged now, not at the first send after the hour (sends still retry).
    verifyAwsSetup(sink.client).then(
      (setup) =>
        logger.info('AWS Marketplace metering client ready', {
          region: setup.region,
          accessKeyIdSuffix: setup.accessKeyIdSuffix,
        }),
      (error: unknown) => logger.error(error instanceof Error ? error.message : String(error)),
    );
    return sink;
  } catch (error) {
    throw new MeteringConfigurationError(
      'ERR_METERING_INVALID_OPTION',
      'sink',
      messages.missingSinkPackage(error),
      {
        cause: error,
      },
    );
  }
}

/**
 * @internal Validates the module's options (throwing the engine's typed errors) and creates the engine, scheduled
 * externally unless the options say otherwise.
 */
export async function createEngineForModule(options: MeteringModuleOptions): Promise<MeteringEngine> {
  const { engine, adapter } = split(options);
  resolveAdapterOptions(options, undefined);
  const logger = engine.logger ?? nestMeteringLogger();
  const sink = engine.sink ?? (await defaultSink(logger));
  return createMeteringEngine({
    ...engine,
    sink,
    store: openAdapterStore(engine.store, adapter.storePath),
    scheduling: engine.scheduling ?? 'external',
    logger,
  });
}

/** @internal The adapter's options with defaults applied; the engine (when given) supplies the job defaults. */
export function resolveAdapterOptions(
  options: MeteringModuleOptions,
  engine: MeteringEngine | undefined,
): ResolvedAdapterOptions {
  const { adapter } = split(options);
  // A sink that meters this instance (MeterUsage) has one implicit customer: no resolver, and none to contradict it.
  const implicit = options.sink?.implicitCustomer;
  if (implicit !== undefined && adapter.customer !== undefined) {
    throw new MeteringConfigurationError(
      'ERR_METERING_CONFLICTING_OPTIONS',
      'customer',
      messages.resolverWithImplicitCustomer(),
    );
  }
  if (implicit === undefined && typeof adapter.customer !== 'function') {
    fail('customer', adapter.customer, 'a function (context: ExecutionContext) => CustomerRef | undefined');
  }
  if (adapter.successStatus !== undefined && typeof adapter.successStatus !== 'function') {
    fail('successStatus', adapter.successStatus, 'a function (statusCode: number) => boolean');
  }
  const onMissingCustomer = adapter.onMissingCustomer ?? 'skip';
  if (onMissingCustomer !== 'skip' && onMissingCustomer !== 401 && onMissingCustomer !== 403) {
    fail('onMissingCustomer', onMissingCustomer, "'skip', 401 or 403");
  }
  const schedule = adapter.schedule ?? {};
  if (schedule === null || typeof schedule !== 'object') fail('schedule', schedule, 'an object');
  return Object.freeze({
    customer: adapter.customer ?? (() => implicit),
    successStatus: adapter.successStatus ?? isServedStatus,
    onMissingCustomer,
    schedule: Object.freeze({
      checkpoint: jobSchedule(
        'schedule.checkpoint',
        schedule.checkpoint,
        engine?.options.checkpointMillis ?? 1_000,
      ),
      dispatch: jobSchedule(
        'schedule.dispatch',
        schedule.dispatch,
        engine?.options.dispatchIntervalMillis ?? 10_000,
      ),
    }),
    scheduling: engine?.options.scheduling ?? options.scheduling ?? 'external',
  });
}
