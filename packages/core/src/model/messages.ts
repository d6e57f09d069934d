/** Error and log message texts shared by the engine and the adapters, each saying how to fix the problem. */
import type { MeteringErrorCode } from './errors.js';

const DOCS = 'https://github.com/meterkit/meterkit/blob/main/packages/core/README.md#error-codes';

/**
 * Appends the error code and where it is documented. Adapters pass their own README's anchor.
 * @internal Shared by the adapters' message texts.
 */
export function withErrorCode(code: MeteringErrorCode, text: string, docsUrl: string = DOCS): string {
  return `${text} (${code}, see ${docsUrl})`;
}

/**
 * A bad value as a message shows it: JSON, long strings cut short, functions named as such.
 * @internal Shared by the adapters' message texts.
 */
export function describeValue(value: unknown): string {
  if (typeof value === 'string')
    return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
  if (typeof value === 'function') return 'a function';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

const withDocs = (code: MeteringErrorCode, text: string) => withErrorCode(code, text);
const show = describeValue;

export const messages = {
  invalidOption: (field: string, value: unknown, rule: string) =>
    withDocs('ERR_METERING_INVALID_OPTION', `Option \`${field}\` is ${show(value)}, but it must be ${rule}.`),
  unknownOption: (field: string, known: readonly string[]) =>
    withDocs(
      'ERR_METERING_UNKNOWN_OPTION',
      `Unknown option \`${field}\`. Known options: ${known.join(', ')}. Check the spelling.`,
    ),
  conflictingOptions: (a: string, b: string, why: string) =>
    withDocs('ERR_METERING_CONFLICTING_OPTIONS', `Options \`${a}\` and \`${b}\` conflict: ${why}.`),
  invalidDimension: (where: string, value: unknown, rule: string) =>
    withDocs(
      'ERR_METERING_INVALID_DIMENSION',
      `${where}: dimension ${show(value)} is not valid: ${rule}. Use the dimension's API name from your product listing.`,
    ),
  undeclaredDimension: (where: string, value: string, declared: readonly string[]) =>
    withDocs(
      'ERR_METERING_UNDECLARED_DIMENSION',
      `${where}: dimension ${show(value)} is not one of the product's declared dimensions (${declared
        .map((d) => show(d))
        .join(', ')}). Add it to \`dimensions\` or fix the name (names are case-sensitive).`,
    ),
  shutDown: () =>
    withDocs(
      'ERR_METERING_SHUT_DOWN',
      'The metering engine has been shut down; create a new one to meter again.',
    ),
  registryUnavailable: (registry: string, error: unknown) =>
    withDocs(
      'ERR_METERING_REGISTRY_UNAVAILABLE',
      `The ${registry} registry could not be opened and read at start-up (${error instanceof Error ? error.message : String(error)}). ` +
        'The engine needs the subscription states before it meters; start again once the registry is reachable.',
    ),
};
