/** The error `registerContainer()` throws when a paid container must not start. */

/** Why RegisterUsage did not let this container start. */
export type ContainerRegistrationFailure =
  /** The buyer has no valid subscription (`CustomerNotEntitledException`). */
  | 'not-entitled'
  /** Throttled until the registration deadline passed (`ThrottlingException` is the one error retried). */
  | 'throttled'
  /** The answer's signature did not verify, or its claims were not ours (product, nonce, key version). */
  | 'invalid-signature'
  /** Anything else AWS or the network answered (region, platform, product code, credentials, 5xx). */
  | 'refused';

/**
 * RegisterUsage failed at start-up, so the container must stop: AWS's rule for paid container products is to exit on
 * any error other than throttling. Thrown by {@link registerContainer} unless `failOpen` is set.
 */
export class ContainerRegistrationError extends Error {
  override readonly name = 'ContainerRegistrationError';
  readonly code = 'ERR_METERING_CONTAINER_NOT_REGISTERED' as const;
  readonly reason: ContainerRegistrationFailure;
  /** The AWS error name, when AWS answered (e.g. `CustomerNotEntitledException`). */
  readonly awsErrorName: string | undefined;

  constructor(
    reason: ContainerRegistrationFailure,
    message: string,
    awsErrorName?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.reason = reason;
    this.awsErrorName = awsErrorName;
  }
}
