/**
 * The sink for AMI and container products: one MeterUsage call per (dimension, hour) for this instance, task or pod,
 * signed with the buyer-side credentials it runs under (instance role, ECS task role, EKS IRSA).
 */
import { type MarketplaceMeteringClient, MeterUsageCommand } from '@aws-sdk/client-marketplace-metering';
import {
  consoleLogger,
  type ExportResponse,
  HOUR_MILLIS,
  MeteringConfigurationError,
  type MeteringLogger,
  type UsageRecord,
  type UsageSink,
} from '@meterkit/core';
import { checkRule, type SinkOptionDefaults } from '@meterkit/core/sink';
import { classifyError } from './classify-error.js';
import { clientTokenOf } from './client-token.js';
import { INSTANCE_CUSTOMER } from './instance-identity.js';
import { InstanceMeteringError } from './instance-metering-error.js';
import { type MeteringClientOptions, resolveClient, warnIfClientRetries } from './metering-client.js';
import { retryThrottled, sleep, ThrottledPastDeadline } from './retry-throttled.js';
import { toWireAllocations } from './wire-allocations.js';

/** AWS: "do not fail closed before 2 hours of metering failures". */
export const MIN_FAIL_CLOSED_AFTER_MILLIS = 2 * HOUR_MILLIS;

/** What {@link MeterUsageSinkOptions.onFailClosed} is told. */
export interface MeteringOutage {
  /** When the first call of the current run of failures failed. */
  readonly failingSinceMillis: number;
  /** The last failure's AWS error name or network code. */
  readonly lastCode: string;
}

/** Options of {@link MeterUsageSink}. */
export interface MeterUsageSinkOptions extends MeteringClientOptions {
  /** @default consoleLogger */
  logger?: MeteringLogger;
  /**
   * How long MeterUsage may fail without a single success before {@link onFailClosed} is called. AWS's guidance is not
   * to fail closed before 2 hours; shorter values are refused.
   * @default 7200000 (2 h)
   */
  failClosedAfterMillis?: number;
  /**
   * Called once when metering has failed for `failClosedAfterMillis`, e.g. to stop serving. Metering itself keeps
   * retrying; the records stay queued until the service's 6 h window ends (then they are dead-lettered).
   * @default logs an error and keeps serving
   */
  onFailClosed?: (outage: MeteringOutage) => void;
  /** Clock of the outage timer. @default Date.now */
  now?: () => number;
}

/** The state of metering as {@link MeterUsageSink.health} reports it. */
export interface InstanceMeteringHealth {
  /** Undefined while the last call went through. */
  readonly failingSinceMillis: number | undefined;
  /** Whether `failClosedAfterMillis` of failures has been reached. */
  readonly failClosed: boolean;
}

/** MeterUsage answers that concern the record itself, not the call's delivery. */
const DUPLICATE = new Set(['DuplicateRequestException', 'IdempotencyConflictException']);

/**
 * The meterkit sink for AWS Marketplace AMI and container products with custom dimensions: sends each sealed record
 * with one `MeterUsage` call, for the instance, ECS task or EKS pod whose credentials sign it. Pass it as the engine's
 * (or adapter's) `sink`; this is the one option that switches meterkit from SaaS (BatchMeterUsage) to instance
 * metering. Adapters then need no customer resolver ({@link INSTANCE_CUSTOMER} is implied).
 *
 * - Every retry of a record is the identical request with the same `ClientToken` (derived from the record's key and
 *   hour), so a lost answer followed by a resend bills once.
 * - `DuplicateRequestException` (and `IdempotencyConflictException`) means this instance already sent another
 *   quantity for that dimension and hour: AWS keeps the first, and the engine carries this record's quantity to the
 *   next open hour (billed an hour late, never lost; event `record.carried-forward`).
 * - Engine defaults follow MeterUsage's rules: records older than 6 h are refused (dead letter `too-old`), retries back
 *   off up to 30 min, and no month-end cut-off.
 * - Use a store of this instance only (memory, or SQLite on the task's own disk): a store shared by several instances
 *   would merge their usage and let one of them send it as its own.
 *
 * @example
 * ```ts
 * const sink = new MeterUsageSink();
 * await sink.dryRun({ productCode: 'prod-abc123', dimension: 'vcpu_hours' }); // credentials and entitlement
 * const metering = createMetering({ sink, productCode: 'prod-abc123' }); // no `customer` resolver needed
 * ```
 * @throws {MeteringConfigurationError} for invalid options.
 */
export class MeterUsageSink implements UsageSink {
  readonly name = 'aws-marketplace-meter-usage';
  /** MeterUsage carries one record. */
  readonly maxBatchSize = 1;
  /** An identical resend is idempotent (same MeteringRecordId): a duplicate always means another quantity. */
  readonly identicalResendIsDuplicate = false;
  readonly implicitCustomer = INSTANCE_CUSTOMER;
  readonly optionDefaults: SinkOptionDefaults = Object.freeze({
    serviceWindowMillis: 6 * HOUR_MILLIS,
    retryMaxMillis: 30 * 60_000,
    monthEndCutoffHourUtc: null,
  });
  readonly client: MarketplaceMeteringClient;
  readonly #owned: boolean;
  readonly #logger: MeteringLogger;
  readonly #failClosedAfterMillis: number;
  readonly #onFailClosed: (outage: MeteringOutage) => void;
  readonly #now: () => number;
  #failingSince: number | undefined;
  #failClosed = false;

  constructor(options: MeterUsageSinkOptions = {}) {
    this.#logger = options.logger ?? consoleLogger;
    const after = options.failClosedAfterMillis ?? MIN_FAIL_CLOSED_AFTER_MILLIS;
    if (typeof after !== 'number' || !Number.isInteger(after) || after < MIN_FAIL_CLOSED_AFTER_MILLIS) {
      throw new MeteringConfigurationError(
        'ERR_METERING_INVALID_OPTION',
        'MeterUsageSink.failClosedAfterMillis',
        `MeterUsageSink: option \`failClosedAfterMillis\` must be an integer of at least ${MIN_FAIL_CLOSED_AFTER_MILLIS} (2 h: AWS's guidance is not to fail closed before 2 hours of metering failures); got ${JSON.stringify(after)}.`,
      );
    }
    if (options.onFailClosed !== undefined && typeof options.onFailClosed !== 'function') {
      throw new MeteringConfigurationError(
        'ERR_METERING_INVALID_OPTION',
        'MeterUsageSink.onFailClosed',
        'MeterUsageSink: option `onFailClosed` must be a function (outage) => void.',
      );
    }
    this.#failClosedAfterMillis = after;
    this.#onFailClosed =
      options.onFailClosed ??
      ((outage) =>
        this.#logger.error(
          'MeterUsage has failed for the fail-closed period; usage stays queued and is retried (onFailClosed not set, so the app keeps serving)',
          { ...outage },
        ));
    this.#now = options.now ?? Date.now;
    // SDK retries off: the dispatcher is the one retry layer, always resending the identical request.
    const { client, owned } = resolveClient(options, 'MeterUsageSink', {
      maxAttempts: 1,
      retryStrategy: undefined,
    });
    this.client = client;
    this.#owned = owned;
    if (!owned) void warnIfClientRetries(client, this.#logger);
  }

  /** One record per call: MeterUsage carries exactly one. */
  planBatches(records: readonly UsageRecord[]): UsageRecord[][] {
    return records.map((record) => [record]);
  }

  /** Whether metering is failing, and for how long. */
  health(): InstanceMeteringHealth {
    return { failingSinceMillis: this.#failingSince, failClosed: this.#failClosed };
  }

  /**
   * Sends one record with one MeterUsage call (`planBatches` puts one in each batch). A batch of any other size is
   * refused unsent (`NotOneCall`), so the dispatcher splits it. Never throws for what the service answers.
   */
  async export(
    records: readonly UsageRecord[],
    options: { readonly signal: AbortSignal },
  ): Promise<ExportResponse> {
    const [record] = records;
    if (record === undefined) return { status: 'done', outcomes: [] };
    if (records.length > 1) {
      return {
        status: 'rejected',
        code: 'NotOneCall',
        message: 'MeterUsage carries one record per call; group records with planBatches()',
      };
    }
    return this.#send(record, options.signal);
  }

  /**
   * A `DryRun` MeterUsage call, to check at start-up that the credentials may call MeterUsage and the buyer is
   * entitled, without metering anything. Throttling is retried for up to `timeoutMillis`.
   * @throws {InstanceMeteringError} when the dry run is refused.
   */
  async dryRun(check: {
    productCode: string;
    dimension: string;
    timeoutMillis?: number;
    sleep?: (millis: number) => Promise<void>;
    random?: () => number;
  }): Promise<void> {
    const broken = checkRule('productCode', check.productCode) ?? checkRule('dimension', check.dimension);
    if (broken !== undefined || !check.productCode) {
      throw new MeteringConfigurationError(
        'ERR_METERING_INVALID_OPTION',
        'MeterUsageSink.dryRun',
        `MeterUsageSink.dryRun: productCode and dimension must be valid (${broken ?? 'non-empty'}).`,
      );
    }
    const hourStart = Math.floor(this.#now() / HOUR_MILLIS) * HOUR_MILLIS;
    let error: unknown;
    try {
      await retryThrottled(
        () =>
          this.client.send(
            new MeterUsageCommand({
              ProductCode: check.productCode,
              UsageDimension: check.dimension,
              UsageQuantity: 0,
              Timestamp: new Date(hourStart),
              DryRun: true,
            }),
          ),
        {
          timeoutMillis: check.timeoutMillis ?? 120_000,
          retryBaseMillis: 500,
          retryMaxMillis: 20_000,
          now: this.#now,
          sleep: check.sleep ?? sleep,
          random: check.random ?? Math.random,
          onRetry: (attempt, delayMillis) =>
            this.#logger.warn('MeterUsage dry run throttled; retrying', { attempt, delayMillis }),
        },
      );
    } catch (thrown) {
      error = thrown instanceof ThrottledPastDeadline ? thrown.cause : thrown;
    }
    // A dry run that would succeed is answered with the DryRunOperation error; a 2xx is accepted too.
    const name = error instanceof Error ? error.name : undefined;
    if (error === undefined || name === 'DryRunOperation') {
      this.#logger.info('MeterUsage dry run: credentials and entitlement are in order', {
        productCode: check.productCode,
      });
      return;
    }
    const message = error instanceof Error ? error.message : String(error);
    throw new InstanceMeteringError(
      name === 'CustomerNotEntitledException' ? 'not-entitled' : 'refused',
      `MeterUsage dry run failed with ${name ?? 'an error'}: ${message}. Check that the instance, task or pod role allows aws-marketplace:MeterUsage, the region is the instance's own, and the product and dimension exist`,
      name,
      { cause: error },
    );
  }

  /** Destroys the client if this sink built it. */
  async shutdown(): Promise<void> {
    if (this.#owned) this.client.destroy();
  }

  async #send(record: UsageRecord, signal: AbortSignal): Promise<ExportResponse> {
    if (record.key.customerIdentifier !== INSTANCE_CUSTOMER.customerIdentifier) {
      // Usage recorded for a customer: sent as this instance's it would collide with the instance's own record for the
      // hour (DuplicateRequest) and be carried forever. Dead-lettered with the reason instead, visible and replayable.
      return {
        status: 'rejected',
        code: 'NotThisInstance',
        message:
          'MeterUsageSink meters the running instance only: record usage for INSTANCE_CUSTOMER (adapters do so without a customer resolver)',
      };
    }
    try {
      const output = await this.client.send(
        new MeterUsageCommand({
          ProductCode: record.key.productCode,
          UsageDimension: record.key.dimension,
          UsageQuantity: record.quantity,
          Timestamp: new Date(record.hourStart),
          ClientToken: clientTokenOf(record),
          UsageAllocations: toWireAllocations(record),
        }),
        { abortSignal: signal },
      );
      this.#succeeded();
      return {
        status: 'done',
        outcomes: [{ id: record.id, status: 'success', meteringRecordId: output.MeteringRecordId }],
      };
    } catch (error) {
      const name = error instanceof Error ? error.name : '';
      if (DUPLICATE.has(name)) {
        this.#succeeded();
        return { status: 'done', outcomes: [{ id: record.id, status: 'duplicate' }] };
      }
      if (name === 'CustomerNotEntitledException') {
        this.#succeeded();
        return { status: 'done', outcomes: [{ id: record.id, status: 'not-subscribed' }] };
      }
      const answer = classifyError(error);
      if (answer.status === 'rejected') this.#succeeded();
      else this.#failed(answer.code);
      return answer;
    }
  }

  /** The service answered about the record: delivery works, whatever the answer. */
  #succeeded(): void {
    if (this.#failingSince !== undefined) {
      this.#logger.info('MeterUsage calls go through again', {
        failedForMillis: this.#now() - this.#failingSince,
      });
    }
    this.#failingSince = undefined;
    this.#failClosed = false;
  }

  #failed(code: string): void {
    const now = this.#now();
    this.#failingSince ??= now;
    if (this.#failClosed || now - this.#failingSince < this.#failClosedAfterMillis) return;
    this.#failClosed = true;
    try {
      this.#onFailClosed({ failingSinceMillis: this.#failingSince, lastCode: code });
    } catch (error) {
      this.#logger.error('onFailClosed threw', { error: String(error) });
    }
  }
}
