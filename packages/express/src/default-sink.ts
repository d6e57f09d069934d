// The sink used when none is given, loaded on demand so `import '@meterkit/express'` never loads the AWS SDK.
import type { MarketplaceMeteringSink } from '@meterkit/aws-marketplace';
import type { ExportResponse, MeteringLogger, UsageRecord, UsageSink } from '@meterkit/core';
import { MeteringConfigurationError } from '@meterkit/core';
import { messages } from './messages.js';

/** BatchMeterUsage's own limit: 25 records per call. */
const MAX_BATCH_SIZE = 25;

/** The default sink and the promise that it loaded: `createMetering().start()` waits for (and fails with) it. */
export interface DeferredSink {
  readonly sink: UsageSink;
  readonly ready: Promise<void>;
  /**
   * Once loaded, resolves the client's region and credentials and logs (error level) what is missing, now rather than
   * at the first send after the hour; sends still retry, so nothing counted is dropped meanwhile.
   */
  verify(logger: MeteringLogger): void;
}

/**
 * AWS Marketplace `BatchMeterUsage` through the SDK's standard configuration (`AWS_REGION`, the credential chain,
 * `AWS_ENDPOINT_URL_MARKETPLACE_METERING`). `@meterkit/aws-marketplace` and the SDK are imported now (at start-up),
 * not at the first send; when they cannot be, `ready` rejects with a {@link MeteringConfigurationError} naming `sink`.
 */
export function defaultSink(logger: MeteringLogger | undefined): DeferredSink {
  let loaded: MarketplaceMeteringSink | undefined;
  let verifyAwsSetup: typeof import('@meterkit/aws-marketplace').verifyAwsSetup | undefined;
  const ready = import('@meterkit/aws-marketplace').then(
    (aws) => {
      loaded = new aws.MarketplaceMeteringSink(logger === undefined ? {} : { logger });
      verifyAwsSetup = aws.verifyAwsSetup;
    },
    (error: unknown) => {
      throw new MeteringConfigurationError(
        'ERR_METERING_INVALID_OPTION',
        'sink',
        messages.missingSinkPackage(error),
        {
          cause: error,
        },
      );
    },
  );
  // Handled here so an app that never calls start() has no unhandled rejection; start() still sees the failure.
  ready.catch(() => undefined);
  const sink: UsageSink = {
    name: 'aws-marketplace',
    maxBatchSize: MAX_BATCH_SIZE,
    // Before the AWS sink has loaded (nothing is sent then: export waits for it), one record per call is always valid.
    planBatches: (records: readonly UsageRecord[]) =>
      loaded?.planBatches(records) ?? records.map((record) => [record]),
    async export(records, options): Promise<ExportResponse> {
      await ready;
      return loaded!.export(records, options);
    },
    async shutdown(): Promise<void> {
      await ready.catch(() => undefined);
      await loaded?.shutdown?.();
    },
  };
  const verify = (to: MeteringLogger): void => {
    if (loaded === undefined || verifyAwsSetup === undefined) return;
    verifyAwsSetup(loaded.client).then(
      (setup) =>
        to.info('AWS Marketplace metering client ready', {
          region: setup.region,
          accessKeyIdSuffix: setup.accessKeyIdSuffix,
        }),
      (error: unknown) => to.error(error instanceof Error ? error.message : String(error)),
    );
  };
  return { sink, ready, verify };
}
