/** Message text of the adapter's errors and log lines. */
import type { MeteringErrorCode } from '@meterkit/core';
import { describeValue, withErrorCode } from '@meterkit/core/adapter';

const DOCS = 'https://github.com/meterkit/meterkit/blob/main/packages/nestjs/README.md';

function withDocs(code: MeteringErrorCode, text: string): string {
  return withErrorCode(code, text, DOCS);
}

const show = describeValue;

/** @internal Message text of the adapter's errors and log lines; each says how to fix the problem. */
export const messages = {
  invalidOption: (field: string, value: unknown, rule: string) =>
    withDocs(
      'ERR_METERING_INVALID_OPTION',
      `MeteringModule option \`${field}\` is ${show(value)}, but it must be ${rule}.`,
    ),
  unknownOption: (field: string, known: readonly string[]) =>
    withDocs(
      'ERR_METERING_UNKNOWN_OPTION',
      `Unknown MeteringModule option \`${field}\`. Known options: ${known.join(', ')}. Check the spelling.`,
    ),
  missingSinkPackage: (cause: unknown) =>
    withDocs(
      'ERR_METERING_INVALID_OPTION',
      `MeteringModule has no \`sink\` and the default one could not be loaded (${String(cause)}). ` +
        'Install @aws-sdk/client-marketplace-metering, or pass `sink` (e.g. InMemorySink from @meterkit/core/testing in tests).',
    ),
  resolverWithImplicitCustomer: () =>
    withDocs(
      'ERR_METERING_CONFLICTING_OPTIONS',
      'MeteringModule options `customer` and `sink` conflict: this sink meters the running instance (MeterUsage), so ' +
        'every request belongs to one implicit customer. Remove `customer`, or use the SaaS sink (BatchMeterUsage).',
    ),
  invalidMeter: (where: string, value: unknown, rule: string) =>
    withDocs('ERR_METERING_INVALID_OPTION', `@Meter() on ${where}: ${show(value)} is not valid: ${rule}.`),
  jobFailed: (job: string) => `background job ${job} failed; it runs again on its next turn`,
};
