/**
 * Public options of {@link startEmulator} and their resolution into one internal configuration.
 */
import { EmulatorConfigurationError } from './errors.js';
import type { FaultOptions } from './faults.js';
import type { NotificationOptions } from './notifier.js';

/** The four operations of the Marketplace Metering Service. */
export type OperationName = 'BatchMeterUsage' | 'MeterUsage' | 'ResolveCustomer' | 'RegisterUsage';

/** Every operation name, in model order. */
export const OPERATION_NAMES: readonly OperationName[] = [
  'BatchMeterUsage',
  'MeterUsage',
  'ResolveCustomer',
  'RegisterUsage',
];

/** How late a record may arrive. `24h` also applies the month-end rule (see the README). */
export type UsageWindow = '24h' | '6h' | '1h';

/** Subscription state of a SaaS customer, after AWS's subscription notifications. */
/** `subscribe-failed`: the purchase did not go through (AWS's `subscribe-fail`); records are not billed. */
export type SubscriptionState = 'subscribed' | 'unsubscribe-pending' | 'unsubscribed' | 'subscribe-failed';

/** Status answered for a record identical to one already billed (AWS's sources disagree). */
export type IdenticalResendStatus = 'Success' | 'DuplicateRecord';

/** A published product, with the dimensions it meters. */
export interface ProductConfig {
  /** The product code, e.g. `prod-abc123`. */
  productCode: string;
  /** Dimension API names; records for any other dimension get `InvalidUsageDimensionException`. */
  dimensions: readonly string[];
  /** License ARNs (Concurrent Agreements) that belong to this product. @default [] */
  licenseArns?: readonly string[];
  /**
   * Whether the calling account is entitled to the product (MeterUsage / RegisterUsage answer
   * `CustomerNotEntitledException` when not). @default true
   */
  entitled?: boolean;
}

/**
 * A SaaS customer of one product: either legacy (`productCode` + `customerIdentifier`), by account
 * (`productCode` + `customerAWSAccountId`), or Concurrent Agreements (`licenseArn` +
 * `customerAWSAccountId`, with `productCode` naming the product the license belongs to).
 */
export interface CustomerConfig {
  productCode?: string;
  customerIdentifier?: string;
  customerAWSAccountId?: string;
  licenseArn?: string;
  /** @default 'subscribed' */
  state?: SubscriptionState;
}

/** An access key the emulator accepts when signature verification is on. */
export interface EmulatorCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

/** Options of {@link startEmulator}. Every field is optional. */
export interface EmulatorOptions {
  /** TCP port; `0` picks a free one. @default 0 */
  port?: number;
  /** Interface to bind. @default '127.0.0.1' */
  host?: string;
  /** Base time source in epoch milliseconds; the control API moves an offset on top of it. @default Date.now */
  now?: () => number;
  /** Seed of every random draw (faults, identifiers, generated customers). @default 1 */
  seed?: number;
  /**
   * Strict mode: only configured products, dimensions, licenses and customers exist, and unknown
   * customers are not auto-subscribed. @default false
   */
  strict?: boolean;
  /** Subscribe unknown customers on first use instead of answering `CustomerNotSubscribed`. @default !strict */
  autoSubscribe?: boolean;
  /** Products known from the start. */
  products?: readonly ProductConfig[];
  /** Customers known from the start. */
  customers?: readonly CustomerConfig[];
  /** BatchMeterUsage window. @default '24h' */
  window?: UsageWindow;
  /** MeterUsage window. @default '6h' */
  meterUsageWindow?: UsageWindow;
  /** How far in the future a timestamp may be (an assumption: AWS documents no limit). @default 300_000 */
  futureSkewMillis?: number;
  /** Status for an identical resend of a billed record. @default 'Success' */
  identicalResendStatus?: IdenticalResendStatus;
  /** How long an `unsubscribe-pending` customer stays billable. @default 3_600_000 */
  unsubscribeGraceMillis?: number;
  /** Lifetime of registration tokens issued through the control API. @default 14_400_000 */
  tokenTtlMillis?: number;
  /**
   * Access keys to verify signatures against. When set, every request's SigV4 signature is checked
   * in full; when absent only the credential scope is checked. @default undefined
   */
  credentials?: EmulatorCredentials | readonly EmulatorCredentials[];
  /** Current public key version for RegisterUsage; higher versions are invalid, lower ones expired. @default 1 */
  publicKeyVersion?: number;
  /** Regions where the API is enabled (others get `DisabledApiException`). @default every region */
  enabledRegions?: readonly string[];
  /**
   * Answer an unknown legacy `CustomerIdentifier` with a whole-call `InvalidCustomerIdentifierException`
   * instead of the per-record `CustomerNotSubscribed`. Only applies when auto-subscribe is off. @default false
   */
  unknownCustomerIdentifierException?: boolean;
  /** Fault injection, settable later through the control API. */
  faults?: FaultOptions;
  /**
   * Subscription notifications sent when a customer subscribes or unsubscribes through the control API (see the
   * README). @default none
   */
  notifications?: NotificationOptions;
}

/** @internal Options with defaults applied. */
export interface ResolvedOptions {
  readonly port: number;
  readonly host: string;
  readonly now: () => number;
  readonly seed: number;
  readonly strict: boolean;
  readonly autoSubscribe: boolean;
  readonly products: readonly ProductConfig[];
  readonly customers: readonly CustomerConfig[];
  readonly windowMillis: number;
  readonly meterUsageWindowMillis: number;
  readonly futureSkewMillis: number;
  readonly identicalResendStatus: IdenticalResendStatus;
  readonly unsubscribeGraceMillis: number;
  readonly tokenTtlMillis: number;
  readonly credentials: readonly EmulatorCredentials[] | undefined;
  readonly publicKeyVersion: number;
  readonly enabledRegions: readonly string[] | undefined;
  readonly unknownCustomerIdentifierException: boolean;
  readonly faults: FaultOptions;
  readonly notifications: NotificationOptions;
}

const HOUR = 3_600_000;

/** Milliseconds of a {@link UsageWindow}. */
export function windowToMillis(window: UsageWindow): number {
  switch (window) {
    case '24h':
      return 24 * HOUR;
    case '6h':
      return 6 * HOUR;
    case '1h':
      return HOUR;
    default:
      throw new EmulatorConfigurationError(`window must be '24h', '6h' or '1h', got '${String(window)}'`);
  }
}

/** @internal Applies defaults and checks invariants. @throws {EmulatorConfigurationError} */
export function resolveOptions(options: EmulatorOptions): ResolvedOptions {
  const strict = options.strict ?? false;
  const resolved: ResolvedOptions = {
    port: options.port ?? 0,
    host: options.host ?? '127.0.0.1',
    now: options.now ?? Date.now,
    seed: options.seed ?? 1,
    strict,
    autoSubscribe: options.autoSubscribe ?? !strict,
    products: options.products ?? [],
    customers: options.customers ?? [],
    windowMillis: windowToMillis(options.window ?? '24h'),
    meterUsageWindowMillis: windowToMillis(options.meterUsageWindow ?? '6h'),
    futureSkewMillis: options.futureSkewMillis ?? 300_000,
    identicalResendStatus: options.identicalResendStatus ?? 'Success',
    unsubscribeGraceMillis: options.unsubscribeGraceMillis ?? HOUR,
    tokenTtlMillis: options.tokenTtlMillis ?? 4 * HOUR,
    credentials:
      options.credentials === undefined
        ? undefined
        : Array.isArray(options.credentials)
          ? (options.credentials as readonly EmulatorCredentials[])
          : [options.credentials as EmulatorCredentials],
    publicKeyVersion: options.publicKeyVersion ?? 1,
    enabledRegions: options.enabledRegions,
    unknownCustomerIdentifierException: options.unknownCustomerIdentifierException ?? false,
    faults: options.faults ?? {},
    notifications: options.notifications ?? {},
  };
  for (const [name, value] of [
    ['futureSkewMillis', resolved.futureSkewMillis],
    ['unsubscribeGraceMillis', resolved.unsubscribeGraceMillis],
    ['tokenTtlMillis', resolved.tokenTtlMillis],
  ] as const) {
    if (!Number.isFinite(value) || value < 0) {
      throw new EmulatorConfigurationError(
        `${name} must be a non-negative number of milliseconds, got ${value}`,
      );
    }
  }
  if (!Number.isInteger(resolved.publicKeyVersion) || resolved.publicKeyVersion < 1) {
    throw new EmulatorConfigurationError(
      `publicKeyVersion must be an integer >= 1, got ${resolved.publicKeyVersion}`,
    );
  }
  if (resolved.identicalResendStatus !== 'Success' && resolved.identicalResendStatus !== 'DuplicateRecord') {
    throw new EmulatorConfigurationError(
      `identicalResendStatus must be 'Success' or 'DuplicateRecord', got '${String(resolved.identicalResendStatus)}'`,
    );
  }
  return resolved;
}
