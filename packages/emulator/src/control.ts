/**
 * The control surface of a running emulator: configure products, customers, tokens, faults and the
 * clock, and reset. The HTTP control API (`control-api.ts`) is a thin JSON layer over this.
 */
import type { LicenseView, ProductView } from './catalog.js';
import { EmulatorConfigurationError } from './errors.js';
import type { FaultOptions, FaultSnapshot, ScheduledFault } from './faults.js';
import type { NotificationOptions, NotificationView } from './notifier.js';
import type { CustomerConfig, ProductConfig } from './options.js';
import type { EmulatorState } from './state.js';
import type { SubscriptionView } from './subscriptions.js';
import type { RegistrationTokenView } from './tokens.js';

/** Input of {@link EmulatorControl.issueToken}. Anything left out is generated from the seed. */
export interface IssueTokenInput {
  /** The token string. @default a random string */
  token?: string;
  /** @default the first configured product, else a generated one (permissive mode only) */
  productCode?: string;
  /** @default 'legacy' when customerIdentifier is given, else 'concurrent-agreements' */
  kind?: 'concurrent-agreements' | 'legacy';
  customerIdentifier?: string;
  customerAWSAccountId?: string;
  licenseArn?: string;
  /** @default the emulator's tokenTtlMillis (4 h) */
  ttlMillis?: number;
  /** Also subscribe the customer, as a completed purchase would. @default true */
  subscribe?: boolean;
}

/** The emulator's clock, as seen by tests. */
export interface ClockControl {
  /** Current emulator time, epoch milliseconds. */
  now(): number;
  /** Sets the current time (time keeps flowing from there if the base clock does). */
  set(nowMillis: number): void;
  /** Moves time by `millis` (negative moves back). */
  advance(millis: number): void;
}

/** Controls a running emulator. Every method is synchronous and takes effect for the next call. */
export interface EmulatorControl {
  /** The emulator clock. */
  readonly clock: ClockControl;
  /** Adds or replaces a configured product. @throws {EmulatorConfigurationError} */
  putProduct(product: ProductConfig): ProductView;
  /** Every product (configured and auto-registered). */
  products(): ProductView[];
  /** Every license. */
  licenses(): LicenseView[];
  /** Adds a customer or changes its subscription state. @throws {EmulatorConfigurationError} */
  putCustomer(customer: CustomerConfig): SubscriptionView;
  /** Every customer with its state and whether it is billable now. */
  customers(): SubscriptionView[];
  /** Issues a registration token for ResolveCustomer. @throws {EmulatorConfigurationError} */
  issueToken(input?: IssueTokenInput): RegistrationTokenView;
  /** Every issued token. */
  tokens(): RegistrationTokenView[];
  /** Merges fault settings into the current ones. @throws {EmulatorConfigurationError} */
  setFaults(patch: FaultOptions): FaultSnapshot;
  /** Replaces all fault settings (quota back to default unless given). @throws {EmulatorConfigurationError} */
  replaceFaults(options: FaultOptions): FaultSnapshot;
  /** Injects faults into the next matching calls. @throws {EmulatorConfigurationError} */
  scheduleFaults(...faults: ScheduledFault[]): FaultSnapshot;
  /** Current fault configuration. */
  faults(): FaultSnapshot;
  /**
   * Sends `entitlement-updated` (EventBridge `License Updated - Manufacturer`) for a known customer, as AWS does when a
   * buyer changes what they bought; the state stays. @throws {EmulatorConfigurationError} for an unknown customer
   */
  updateEntitlement(customer: CustomerConfig): SubscriptionView;
  /** Where subscription notifications go (replaces the current setting). @throws {EmulatorConfigurationError} */
  setNotifications(options: NotificationOptions): NotificationOptions;
  /** Every notification sent since start or reset, with what became of its POST. */
  notifications(): NotificationView[];
  /** Returns to the state right after start (configured products and customers, initial faults, clock offset 0). */
  reset(): void;
}

/** @internal */
export function createControl(state: EmulatorState): EmulatorControl {
  const { clock, catalog, faults } = state;
  return {
    clock: {
      now: () => clock.now(),
      set: (nowMillis) => {
        requireFinite('nowMillis', nowMillis);
        clock.set(nowMillis);
      },
      advance: (millis) => {
        requireFinite('advanceMillis', millis);
        clock.advance(millis);
      },
    },
    putProduct: (product) => catalog.putProduct(product),
    products: () => catalog.products(),
    licenses: () => catalog.licenses(),
    putCustomer: (customer) => state.putCustomer(customer),
    customers: () => state.subscriptions.list(clock.now()),
    issueToken: (input = {}) => issueToken(state, input),
    tokens: () => state.tokens.list(),
    setFaults: (patch) => {
      faults.update(patch);
      return faults.snapshot();
    },
    replaceFaults: (options) => {
      faults.replace(options);
      return faults.snapshot();
    },
    scheduleFaults: (...items) => {
      faults.schedule(items);
      return faults.snapshot();
    },
    faults: () => faults.snapshot(),
    updateEntitlement: (customer) => state.updateEntitlement(customer),
    setNotifications: (options) => state.notifier.configure(options),
    notifications: () => state.notifier.sent(),
    reset: () => state.reset(),
  };
}

function issueToken(state: EmulatorState, input: IssueTokenInput): RegistrationTokenView {
  const { generator, catalog, options } = state;
  const now = state.clock.now();
  const productCode =
    input.productCode ?? catalog.products().find((p) => p.configured)?.productCode ?? defaultProduct(state);
  if (!catalog.acceptsProduct(productCode)) {
    throw new EmulatorConfigurationError(`unknown product ${productCode} (strict mode: configure it first)`);
  }
  const ttlMillis = input.ttlMillis ?? options.tokenTtlMillis;
  requireFinite('ttlMillis', ttlMillis);
  const kind = input.kind ?? (input.customerIdentifier !== undefined ? 'legacy' : 'concurrent-agreements');
  const token = input.token ?? generator.hex(48);
  if (token === '') throw new EmulatorConfigurationError('token must not be empty');
  let identity: Pick<RegistrationTokenView, 'customerIdentifier' | 'customerAWSAccountId' | 'licenseArn'>;
  if (kind === 'legacy') {
    identity = {
      customerIdentifier: input.customerIdentifier ?? `cust-${generator.hex(11)}`,
      ...(input.customerAWSAccountId !== undefined && { customerAWSAccountId: input.customerAWSAccountId }),
    };
  } else {
    identity = {
      customerAWSAccountId: input.customerAWSAccountId ?? generator.digits(12),
      licenseArn:
        input.licenseArn ?? `arn:aws:license-manager::${generator.digits(12)}:license:l-${generator.hex(32)}`,
    };
  }
  if (input.subscribe ?? true) {
    state.putCustomer({ productCode, ...identity });
  } else if (identity.licenseArn) {
    catalog.putLicense({
      licenseArn: identity.licenseArn,
      productCode,
      customerAWSAccountId: identity.customerAWSAccountId,
    });
  } else {
    catalog.noteUse({ productCode });
  }
  return state.tokens.add({
    token,
    productCode,
    ...identity,
    issuedAtMillis: now,
    expiresAtMillis: now + ttlMillis,
  });
}

function defaultProduct(state: EmulatorState): string {
  if (state.options.strict) {
    throw new EmulatorConfigurationError('strict mode: give productCode (no product is configured)');
  }
  return 'prod-emulator';
}

function requireFinite(name: string, value: number): void {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new EmulatorConfigurationError(`${name} must be a finite number, got ${String(value)}`);
  }
}
