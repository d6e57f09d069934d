import { MarketplaceMeteringSink } from '@meterkit/aws-marketplace';
import type { MeteringLogger, UsageSink } from '@meterkit/core';

/**
 * The sink used when none is given: AWS Marketplace `BatchMeterUsage` through the SDK's standard configuration
 * (`AWS_REGION`, the credential chain, `AWS_ENDPOINT_URL_MARKETPLACE_METERING`).
 */
export function defaultSink(logger: MeteringLogger | undefined): UsageSink {
  return new MarketplaceMeteringSink(logger === undefined ? {} : { logger });
}
