/**
 * RegisterUsage at container start-up: paid container products must call it once per ECS task or EKS pod before
 * serving, and stop when it fails for any reason but throttling.
 */
import { RegisterUsageCommand } from '@aws-sdk/client-marketplace-metering';
import { consoleLogger, MeteringConfigurationError, type MeteringLogger } from '@meterkit/core';
import { checkRule } from '@meterkit/core/sink';
import { ContainerRegistrationError } from './container-registration-error.js';
import { instanceNonce } from './instance-identity.js';
import { type MeteringClientOptions, resolveClient } from './metering-client.js';
import {
  retryThrottled,
  sleep,
  ThrottledPastDeadline,
  type ThrottleRetrySettings,
} from './retry-throttled.js';
import {
  type UsageSignatureClaims,
  type UsageVerificationKey,
  verifyUsageSignature,
} from './usage-signature.js';

/** Options of {@link registerContainer}. */
export interface RegisterContainerOptions extends MeteringClientOptions {
  /** The container product's code, from the AWS Marketplace Management Portal. */
  productCode: string;
  /** The public key version whose key signs the answer. @default 1 */
  publicKeyVersion?: number;
  /**
   * The AWS Marketplace public key of `publicKeyVersion` (PEM, JWK or `KeyObject`), to verify the signed answer.
   * meterkit does not ship AWS's key: get it from AWS Marketplace for your product. Against the emulator, use
   * `emulator.publicKey.pem`. Without it the answer is not verified, and a warning says so at every start.
   */
  verificationKey?: UsageVerificationKey;
  /**
   * Ties the registration to this running task or pod. Leave it unset: meterkit draws one random nonce per process,
   * so every call in the process is the same registration.
   */
  nonce?: string;
  /**
   * Let the container start when RegisterUsage fails (preview and testing only): the failure is logged as an error
   * and the result says `failed-open`. AWS requires paid containers to stop instead.
   * @default false
   */
  failOpen?: boolean;
  /** How long `ThrottlingException` is retried before giving up. @default 300000 */
  timeoutMillis?: number;
  /** First delay after a throttled call; doubles per attempt, with full jitter. @default 500 */
  retryBaseMillis?: number;
  /** Longest delay between throttled calls. @default 20000 */
  retryMaxMillis?: number;
  /** @default consoleLogger */
  logger?: MeteringLogger;
  /** Test seams: time, waiting and jitter. */
  now?: () => number;
  sleep?: (millis: number) => Promise<void>;
  random?: () => number;
}

/** The outcome of {@link registerContainer}. */
export type ContainerRegistration =
  | {
      readonly status: 'registered';
      readonly nonce: string;
      readonly publicKeyVersion: number;
      /** The JWT RegisterUsage answered with. */
      readonly signature: string;
      /** Its claims; verified when `verified` is true. */
      readonly claims: UsageSignatureClaims | undefined;
      /** False when no `verificationKey` was configured. */
      readonly verified: boolean;
      /** Set when the key version has expired: move to the newer key. */
      readonly publicKeyRotationTimestamp: Date | undefined;
    }
  | {
      readonly status: 'failed-open';
      readonly nonce: string;
      readonly error: ContainerRegistrationError;
    };

/** Registrations of this process, by product, nonce and service: a second call returns the first one's outcome. */
const registrations = new Map<string, Promise<ContainerRegistration>>();
const injectedClients = new WeakMap<object, number>();
let injectedClientCount = 0;

/** Which service a registration is with: the configured endpoint, or the injected client's identity. */
function serviceOf(options: RegisterContainerOptions): string {
  if (options.client !== undefined) {
    let n = injectedClients.get(options.client);
    if (n === undefined) {
      injectedClientCount += 1;
      n = injectedClientCount;
      injectedClients.set(options.client, n);
    }
    return `client#${n}`;
  }
  return String(options.clientConfig?.endpoint ?? 'default');
}

/**
 * Calls RegisterUsage once for this task or pod and verifies the signed answer. Await it before `listen()` (Express)
 * or through `ContainerRegistrationModule` (NestJS). `ThrottlingException` is retried with backoff until
 * `timeoutMillis`; anything else fails closed. The region is never assumed: it comes from `clientConfig`, or the SDK's
 * standard configuration (`AWS_REGION`, which ECS and EKS set to the task's region).
 *
 * @example
 * ```ts
 * await registerContainer({ productCode: 'prod-abc123', publicKeyVersion: 1, verificationKey: awsPublicKeyPem });
 * app.listen(8080);
 * ```
 * @throws {ContainerRegistrationError} when the container must not start (not entitled, refused, throttled past
 * the deadline, a signature that does not verify), unless `failOpen` is set.
 * @throws {MeteringConfigurationError} for invalid options.
 */
export function registerContainer(options: RegisterContainerOptions): Promise<ContainerRegistration> {
  const settings = parse(options);
  const id = JSON.stringify([settings.productCode, settings.nonce, serviceOf(options)]);
  const known = registrations.get(id);
  if (known !== undefined) return known;
  const running = register(settings, options);
  registrations.set(id, running);
  // A failure may be retried by a later call (a failed-open start, a test); a success stands for the process.
  running.then(
    (result) => {
      if (result.status !== 'registered') registrations.delete(id);
    },
    () => registrations.delete(id),
  );
  return running;
}

/** The throttle retry's timing, plus what RegisterUsage is asked and how a failure is handled. */
interface Settings extends Omit<ThrottleRetrySettings, 'onRetry'> {
  readonly productCode: string;
  readonly publicKeyVersion: number;
  readonly nonce: string;
  readonly failOpen: boolean;
  readonly logger: MeteringLogger;
}

async function register(s: Settings, options: RegisterContainerOptions): Promise<ContainerRegistration> {
  const { client, owned } = resolveClient(options, 'registerContainer', {
    // Throttling is retried here with its own deadline; nothing else may be retried.
    maxAttempts: 1,
    retryStrategy: undefined,
  });
  try {
    const output = await send(s, client);
    const signature = output.Signature ?? '';
    const rotated = output.PublicKeyRotationTimestamp;
    if (rotated !== undefined) {
      s.logger.warn(
        `RegisterUsage: public key version ${s.publicKeyVersion} has expired (rotated ${rotated.toISOString()}); configure the newer version and its key`,
      );
    }
    let claims: UsageSignatureClaims | undefined;
    if (options.verificationKey === undefined) {
      s.logger.warn(
        'RegisterUsage: the signed answer was NOT verified because no verificationKey is configured; set it to the AWS Marketplace public key of your publicKeyVersion',
      );
    } else {
      claims = verifyUsageSignature(signature, {
        key: options.verificationKey,
        publicKeyVersion: s.publicKeyVersion,
        productCode: s.productCode,
        nonce: s.nonce,
      });
    }
    s.logger.info('RegisterUsage: this container is registered', {
      productCode: s.productCode,
      publicKeyVersion: s.publicKeyVersion,
      verified: claims !== undefined,
    });
    return {
      status: 'registered',
      nonce: s.nonce,
      publicKeyVersion: s.publicKeyVersion,
      signature,
      claims,
      verified: claims !== undefined,
      publicKeyRotationTimestamp: rotated,
    };
  } catch (thrown) {
    const error = thrown instanceof ContainerRegistrationError ? thrown : toRegistrationError(thrown);
    if (!s.failOpen) throw error;
    s.logger.error(
      'RegisterUsage FAILED and failOpen is set: this container starts anyway. Never ship this to buyers: AWS requires a paid container to stop when RegisterUsage fails.',
      { reason: error.reason, awsErrorName: error.awsErrorName, message: error.message },
    );
    return { status: 'failed-open', nonce: s.nonce, error };
  } finally {
    if (owned) client.destroy();
  }
}

async function send(s: Settings, client: ReturnType<typeof resolveClient>['client']) {
  try {
    return await retryThrottled(
      () =>
        client.send(
          new RegisterUsageCommand({
            ProductCode: s.productCode,
            PublicKeyVersion: s.publicKeyVersion,
            Nonce: s.nonce,
          }),
        ),
      {
        ...s,
        onRetry: (attempt, delayMillis) =>
          s.logger.warn('RegisterUsage throttled; retrying', { attempt, delayMillis }),
      },
    );
  } catch (error) {
    if (!(error instanceof ThrottledPastDeadline)) throw error;
    throw new ContainerRegistrationError(
      'throttled',
      `RegisterUsage was throttled for ${s.timeoutMillis} ms (${error.attempts} attempts); the container must not start without it`,
      'ThrottlingException',
      { cause: error.cause },
    );
  }
}

function toRegistrationError(error: unknown): ContainerRegistrationError {
  const name = nameOf(error);
  const message = error instanceof Error ? error.message : String(error);
  if (name === 'CustomerNotEntitledException') {
    return new ContainerRegistrationError(
      'not-entitled',
      `RegisterUsage: the buyer is not entitled to this product (${message}); the container must not start`,
      name,
      { cause: error },
    );
  }
  return new ContainerRegistrationError(
    'refused',
    `RegisterUsage failed with ${name ?? 'an error'}: ${message}. Check the region (the task's own), the product code, the platform (ECS, EKS, Fargate) and that the task role or IRSA role allows aws-marketplace:RegisterUsage`,
    name,
    { cause: error },
  );
}

function nameOf(error: unknown): string | undefined {
  return error instanceof Error ? error.name : undefined;
}

function invalid(field: string, value: unknown, rule: string): never {
  throw new MeteringConfigurationError(
    'ERR_METERING_INVALID_OPTION',
    `registerContainer.${field}`,
    `registerContainer: option \`${field}\` must be ${rule}; got ${JSON.stringify(value)}.`,
  );
}

function positiveInteger(field: string, value: unknown, fallback: number): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) invalid(field, value, 'a positive integer');
  return v;
}

function parse(o: RegisterContainerOptions): Settings {
  if (o === null || typeof o !== 'object') invalid('options', o, 'an object');
  const broken = checkRule('productCode', o.productCode);
  if (typeof o.productCode !== 'string' || o.productCode === '' || broken !== undefined) {
    invalid('productCode', o.productCode, broken ?? 'a non-empty product code');
  }
  const nonce = o.nonce ?? instanceNonce;
  if (typeof nonce !== 'string' || nonce === '' || nonce.length > 255) {
    invalid('nonce', o.nonce, 'a string of 1 to 255 characters');
  }
  const retryBaseMillis = positiveInteger('retryBaseMillis', o.retryBaseMillis, 500);
  const retryMaxMillis = positiveInteger('retryMaxMillis', o.retryMaxMillis, 20_000);
  if (retryMaxMillis < retryBaseMillis) invalid('retryMaxMillis', retryMaxMillis, 'at least retryBaseMillis');
  if (o.failOpen !== undefined && typeof o.failOpen !== 'boolean')
    invalid('failOpen', o.failOpen, 'a boolean');
  return {
    productCode: o.productCode,
    publicKeyVersion: positiveInteger('publicKeyVersion', o.publicKeyVersion, 1),
    nonce,
    failOpen: o.failOpen ?? false,
    timeoutMillis: positiveInteger('timeoutMillis', o.timeoutMillis, 300_000),
    retryBaseMillis,
    retryMaxMillis,
    logger: o.logger ?? consoleLogger,
    now: o.now ?? Date.now,
    sleep: o.sleep ?? sleep,
    random: o.random ?? Math.random,
  };
}
