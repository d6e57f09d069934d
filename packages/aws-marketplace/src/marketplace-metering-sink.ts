/** The SaaS sink: plans BatchMeterUsage calls and sends each with the AWS SDK, reporting every record's outcome. */
import { BatchMeterUsageCommand, type MarketplaceMeteringClient } from '@aws-sdk/client-marketplace-metering';
import {
  consoleLogger,
  type ExportResponse,
  type MeteringLogger,
  type UsageRecord,
  type UsageSink,
} from '@meterkit/core';
import { buildBatchInput, isOneCall, MAX_RECORDS_PER_CALL, planCalls } from './batch-calls.js';
import { classifyError } from './classify-error.js';
import { type MeteringClientOptions, resolveClient, warnIfClientRetries } from './metering-client.js';
import { readOutcomes } from './read-outcomes.js';

/** Options of {@link MarketplaceMeteringSink}. Every field is optional. */
export interface MarketplaceMeteringSinkOptions extends MeteringClientOptions {
  /** Where warnings go (an injected client that retries, unknown answers). @default consoleLogger */
  logger?: MeteringLogger;
}

/**
 * The meterkit sink for AWS Marketplace SaaS metering: sends sealed records with `BatchMeterUsage` and reports what
 * happened to each of them. It never retries and never throws for anything the service answers; the engine's
 * dispatcher does the retrying, always with the identical record.
 *
 * @example
 * ```ts
 * import { createMeteringEngine } from '@meterkit/core';
 * import { MarketplaceMeteringSink } from '@meterkit/aws-marketplace';
 *
 * const engine = createMeteringEngine({ sink: new MarketplaceMeteringSink(), productCode: 'prod-abc123' });
 * await engine.start();
 * ```
 * @throws {MeteringConfigurationError} when `client` is not an SDK v3 client, or both `client` and `clientConfig`
 * are given.
 */
export class MarketplaceMeteringSink implements UsageSink {
  readonly name = 'aws-marketplace';
  /** BatchMeterUsage takes at most 25 records. */
  readonly maxBatchSize = MAX_RECORDS_PER_CALL;
  /** The SDK client calls go through. */
  readonly client: MarketplaceMeteringClient;
  readonly #owned: boolean;
  readonly #logger: MeteringLogger;

  constructor(options: MarketplaceMeteringSinkOptions = {}) {
    this.#logger = options.logger ?? consoleLogger;
    const given = options.clientConfig;
    if (
      given !== undefined &&
      ((given.maxAttempts !== undefined && given.maxAttempts !== 1) || given.retryStrategy)
    ) {
      this.#logger.warn(
        'clientConfig.maxAttempts and retryStrategy are ignored: the sink sends each call once and the dispatcher retries',
      );
    }
    // SDK retries off: the dispatcher is the one retry layer (with its rate limit, backoff and identical resends).
    const { client, owned } = resolveClient(options, 'MarketplaceMeteringSink', {
      maxAttempts: 1,
      retryStrategy: undefined,
    });
    this.client = client;
    this.#owned = owned;
    if (!owned) void warnIfClientRetries(client, this.#logger);
  }

  /**
   * Groups records into calls: one product and one kind of customer id per call (a legacy call sends `ProductCode` at
   * request level, a Concurrent Agreements call must not), at most 25 records and under 1 MB by an upper bound of each
   * record's size whatever its identifiers and tags contain. Order (oldest first) is kept within each call.
   */
  planBatches(records: readonly UsageRecord[]): UsageRecord[][] {
    return planCalls(records);
  }

  /**
   * Sends one batch from {@link planBatches} (or a part of one) as one BatchMeterUsage call. Records that cannot share
   * a call are refused before anything is sent, as the service would refuse them; the dispatcher then splits them.
   */
  async export(
    records: readonly UsageRecord[],
    options: { readonly signal: AbortSignal },
  ): Promise<ExportResponse> {
    if (records.length === 0) return { status: 'done', outcomes: [] };
    if (!isOneCall(records)) {
      return {
        status: 'rejected',
        code: 'NotOneCall',
        message:
          'these records cannot share one BatchMeterUsage call (products, kinds of customer id, or more than 25); group them with planBatches()',
      };
    }
    try {
      const output = await this.client.send(new BatchMeterUsageCommand(buildBatchInput(records)), {
        abortSignal: options.signal,
      });
      return { status: 'done', outcomes: readOutcomes(records, output, this.#logger) };
    } catch (error) {
      return classifyError(error);
    }
  }

  /** Destroys the client if this sink built it; an injected client belongs to the caller. */
  async shutdown(): Promise<void> {
    if (this.#owned) this.client.destroy();
  }
}
