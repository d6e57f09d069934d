/** Error message texts of the Express adapter, each with its error code and a link to the docs. */
import { type MeteringErrorCode } from '@meterkit/core';
import { describeValue, withErrorCode } from '@meterkit/core/adapter';

const DOCS = 'https://github.com/meterkit/meterkit/blob/main/packages/express/README.md#errors';

function withDocs(code: MeteringErrorCode, text: string): string {
  return withErrorCode(code, text, DOCS);
}

const show = describeValue;

/** Message texts of the Express adapter: each names the option, the bad value and the fix. */
export const messages = {
  invalidOption: (field: string, value: unknown, rule: string) =>
    withDocs('ERR_METERING_INVALID_OPTION', `Option \`${field}\` is ${show(value)}, but it must be ${rule}.`),
  unknownOption: (field: string, known: readonly string[]) =>
    withDocs(
      'ERR_METERING_UNKNOWN_OPTION',
      `Unknown option \`${field}\`. Known options: ${known.join(', ')}. Check the spelling.`,
    ),
  missingSinkPackage: (cause: unknown) =>
    withDocs(
      'ERR_METERING_INVALID_OPTION',
      `createMetering() has no \`sink\` and the default one could not be loaded (${String(cause)}). ` +
        'Install @aws-sdk/client-marketplace-metering, or pass `sink` (e.g. InMemorySink from @meterkit/core/testing in tests).',
    ),
  resolverWithImplicitCustomer: () =>
    withDocs(
      'ERR_METERING_CONFLICTING_OPTIONS',
      'Options `customer` and `sink` conflict: this sink meters the running instance (MeterUsage), so every request ' +
        'belongs to one implicit customer. Remove `customer`, or use the SaaS sink (BatchMeterUsage) to bill customers.',
    ),
  missingResolver: () =>
    withDocs(
      'ERR_METERING_INVALID_OPTION',
      'Option `customer` is required: a function `(req) => CustomerRef | undefined` (sync or async) that returns the ' +
        'authenticated customer of the request, e.g. `(req) => req.user?.billing`. meterkit never reads a client ' +
        'header on its own.',
    ),
  duplicateDimension: (where: string, dimension: string) =>
    withDocs(
      'ERR_METERING_INVALID_OPTION',
      `${where}: dimension ${show(dimension)} is listed twice; each dimension is counted once per request.`,
    ),
  emptyMeter: () =>
    withDocs('ERR_METERING_INVALID_OPTION', "meter() needs at least one dimension, e.g. meter('api_calls')."),
};
