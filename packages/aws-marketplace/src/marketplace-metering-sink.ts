import { BatchMeterUsageCommand, type MarketplaceMeteringClient } from '@aws-sdk/client-marketplace-metering';
import {
  consoleLogger,
  type ExportResponse,
  type MeteringLogger,
  type RecordOutcome,
  type UsageRecord,
  type UsageSink,
} from '@meterkit/core';
import { buildBatchInput, type PlannedCall, planCalls } from './batch-calls.js';
import { classifyError } from './classify-error.js';
import { type MeteringClientOptions, resolveClient, warnIfClientRetries } from './metering-client.js';
import { readOutcomes } from './read-outcomes.js';
import { estimateRecordBytes } from './record-size.js';

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
  readonly maxBatchSize = 25;
  /** A BatchMeterUsage request must stay under 1 MB. */
  readonly maxBatchBytes = 1_000_000;
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

  /** An upper bound of one record's size in the request, so batches stay under {@link maxBatchBytes}. */
  estimateRecordBytes(record: UsageRecord): number {
    return estimateRecordBytes(record);
  }

  /**
   * Sends one batch. Usually one call; a batch mixing Concurrent Agreements and legacy records is two calls (their
   * ProductCode rules differ). When a later call of such a batch does not go through after an earlier one did, the
   * earlier outcomes are reported rather than one answer for the whole batch (a bisection would resend what was
   * just billed). The later records come back `unprocessed` when AWS certainly did not apply them (throttled,
   * refused, or never sent), and are left out of the answer when they may have landed (5xx, network, timeout), so
   * a later `DuplicateRecord` for them is read as our own record echoed back.
   */
  async export(
    records: readonly UsageRecord[],
    options: { readonly signal: AbortSignal },
  ): Promise<ExportResponse> {
    const calls = planCalls(records);
    const outcomes: RecordOutcome[] = [];
    for (const [index, call] of calls.entries()) {
      const answer = await this.#send(call, options.signal);
      if (answer.status === 'done') {
        outcomes.push(...answer.outcomes);
        continue;
      }
      // Nothing of this batch reached the service yet: the answer stands for the whole batch.
      if (index === 0) return answer;
      const mayHaveLanded = answer.status === 'retryable' && answer.reason !== 'throttled';
      const notSent = calls.slice(index + 1).flatMap((c) => c.records);
      const notApplied = mayHaveLanded ? notSent : [...call.records, ...notSent];
      for (const record of notApplied) outcomes.push({ id: record.id, status: 'unprocessed' });
      this.#logger.warn(
        'part of a mixed legacy and license batch did not go through; it will be sent again',
        {
          status: answer.status,
          code: answer.code,
          records: call.records.length + notSent.length,
        },
      );
      break;
    }
    return { status: 'done', outcomes };
  }

  /** Destroys the client if this sink built it; an injected client belongs to the caller. */
  async shutdown(): Promise<void> {
    if (this.#owned) this.client.destroy();
  }

  async #send(call: PlannedCall, signal: AbortSignal): Promise<ExportResponse> {
    try {
      const output = await this.client.send(new BatchMeterUsageCommand(buildBatchInput(call)), {
        abortSignal: signal,
      });
      return { status: 'done', outcomes: readOutcomes(call.records, output, this.#logger) };
    } catch (error) {
      return classifyError(error);
    }
  }
}
