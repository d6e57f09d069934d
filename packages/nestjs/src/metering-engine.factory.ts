/** Creates the module's engine from its resolved options: the default AWS sink and store when none was given. */
import {
  createMeteringEngine,
  MeteringConfigurationError,
  type MeteringEngine,
  type MeteringLogger,
  type UsageSink,
} from '@meterkit/core';
import { openAdapterStore } from '@meterkit/sqlite';
import { messages } from './metering.messages.js';
import type { ResolvedMeteringOptions } from './metering-options.js';
import { nestMeteringLogger } from './nest-metering-logger.js';

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
 * @internal The engine of the module: Nest's logger unless another was given, the AWS sink unless another was given,
 * the SQLite store unless another was given. The engine validates its own options and throws their typed errors.
 */
export async function createEngineForModule(options: ResolvedMeteringOptions): Promise<MeteringEngine> {
  const { engine } = options;
  const logger = engine.logger ?? nestMeteringLogger();
  const sink = engine.sink ?? (await defaultSink(logger));
  return createMeteringEngine({
    ...engine,
    sink,
    store: openAdapterStore(engine.store, options.storePath),
    logger,
  });
}
