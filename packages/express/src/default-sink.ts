// The sink used when none is given, loaded on demand so `import '@meterkit/express'` never loads the AWS SDK.
import type { ExportResponse, MeteringLogger, UsageRecord, UsageSink } from '@meterkit/core';
import { MeteringConfigurationError } from '@meterkit/core';
import { messages } from './messages.js';

/** BatchMeterUsage's own limits: 25 records per call, a request under 1 MB. */
const MAX_BATCH_SIZE = 25;
const MAX_BATCH_BYTES = 1_000_000;
/** A record's size before the AWS sink (and its exact estimate) has loaded; 25 of these stay far under 1 MB. */
const RECORD_BYTES_BOUND = 4096;

/** The default sink and the promise that it loaded: `createMetering().start()` waits for (and fails with) it. */
export interface DeferredSink {
  readonly sink: UsageSink;
  readonly ready: Promise<void>;
}

/**
 * AWS Marketplace `BatchMeterUsage` through the SDK's standard configuration (`AWS_REGION`, the credential chain,
 * `AWS_ENDPOINT_URL_MARKETPLACE_METERING`). `@meterkit/aws-marketplace` and the SDK are imported now (at start-up),
 * not at the first send; when they cannot be, `ready` rejects with a {@link MeteringConfigurationError} naming `sink`.
 */
export function defaultSink(logger: MeteringLogger | undefined): DeferredSink {
  let loaded: UsageSink | undefined;
  const ready = import('@meterkit/aws-marketplace').then(
    ({ MarketplaceMeteringSink }) => {
      loaded = new MarketplaceMeteringSink(logger === undefined ? {} : { logger });
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
    maxBatchBytes: MAX_BATCH_BYTES,
    estimateRecordBytes: (record: UsageRecord) => loaded?.estimateRecordBytes(record) ?? RECORD_BYTES_BOUND,
    async export(records, options): Promise<ExportResponse> {
      await ready;
      return loaded!.export(records, options);
    },
    async shutdown(): Promise<void> {
      await ready.catch(() => undefined);
      await loaded?.shutdown?.();
    },
  };
  return { sink, ready };
}
