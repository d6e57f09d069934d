/** The error the MeterUsage dry run throws when this instance cannot meter. */

/**
 * The start-up dry run of MeterUsage was refused: the buyer is not entitled (`not-entitled`), or the credentials,
 * region, product or dimension are wrong (`refused`). Stop, or fix the configuration, before serving.
 */
export class InstanceMeteringError extends Error {
  override readonly name = 'InstanceMeteringError';
  readonly code = 'ERR_METERING_INSTANCE_CHECK_FAILED' as const;
  readonly reason: 'not-entitled' | 'refused';
  /** The AWS error name, when AWS answered. */
  readonly awsErrorName: string | undefined;

  constructor(
    reason: 'not-entitled' | 'refused',
    message: string,
    awsErrorName?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.reason = reason;
    this.awsErrorName = awsErrorName;
  }
}
