/**
 * Command-line flags of `meterkit-emulator`, turned into {@link EmulatorOptions}. Kept apart from
 * `cli.ts` so parsing is testable without starting a process.
 */
import { parseArgs } from 'node:util';
import { EmulatorConfigurationError } from './errors.js';
import type { FaultOptions } from './faults.js';
import type {
  CustomerConfig,
  EmulatorCredentials,
  EmulatorOptions,
  ProductConfig,
  UsageWindow,
} from './options.js';

/** Usage text printed by `--help`. */
export const USAGE = `Usage: meterkit-emulator [options]

A local AWS Marketplace Metering Service (awsJson1_1 + SigV4) with fault injection.

  --port <n>                  TCP port (default 4566; 0 picks a free one)
  --host <addr>               interface to bind (default 127.0.0.1)
  --products <code:d1,d2>     a product and its dimensions; repeatable
  --customer <code:id>        a subscribed legacy customer (product code : CustomerIdentifier); repeatable
  --strict                    only configured products/dimensions/customers exist; no auto-subscribe
  --no-auto-subscribe         answer CustomerNotSubscribed for unknown customers (default in --strict)
  --window <24h|6h|1h>        BatchMeterUsage window (default 24h, with the month-end rule)
  --meter-usage-window <w>    MeterUsage window (default 6h)
  --future-skew <duration>    how far ahead a timestamp may be (default 5m)
  --identical-resend <s>      'success' (default) or 'duplicate': status of an identical resend
  --unsubscribe-grace <dur>   how long unsubscribe-pending customers stay billable (default 1h)
  --token-ttl <duration>      registration token lifetime (default 4h)
  --credentials <akid:secret> verify SigV4 signatures against this key; repeatable
  --regions <r1,r2>           regions where the API is enabled (default all)
  --public-key-version <n>    current RegisterUsage public key version (default 1)
  --seed <n>                  seed of every random draw (default 1)
  --throttle-rate <p>         probability of ThrottlingException per call
  --error-rate <p>            probability of InternalServiceErrorException per call
  --unprocessed-rate <p>      probability that a record comes back in UnprocessedRecords
  --drop-rate <p>             probability that a committed call's answer is lost
  --latency <ms|min-max>      delay before processing each call
  --quota <n>                 calls per second per operation (default 10, RegisterUsage 5)
  --no-quota                  disable the throttling quota
  --help                      print this text

Durations: 500ms, 30s, 5m, 4h, or a number of milliseconds.`;

/** Parsed command line. */
export interface CliArgs {
  readonly help: boolean;
  readonly options: EmulatorOptions;
}

/**
 * Parses `argv` (without the node and script entries).
 *
 * @throws {EmulatorConfigurationError} for an unknown flag or a malformed value.
 */
export function parseCliArgs(argv: readonly string[]): CliArgs {
  let values: ReturnType<typeof parse>['values'];
  try {
    values = parse(argv).values;
  } catch (error) {
    throw new EmulatorConfigurationError((error as Error).message);
  }
  if (values.help) return { help: true, options: {} };
  const faults: FaultOptions = {};
  const probability = (flag: string, value: string | undefined) => {
    if (value === undefined) return undefined;
    const p = Number(value);
    if (!(p >= 0 && p <= 1))
      throw new EmulatorConfigurationError(`--${flag} must be between 0 and 1, got '${value}'`);
    return p;
  };
  const set = <K extends keyof FaultOptions>(key: K, value: FaultOptions[K] | undefined) => {
    if (value !== undefined) faults[key] = value;
  };
  set('throttleProbability', probability('throttle-rate', values['throttle-rate']));
  set('internalErrorProbability', probability('error-rate', values['error-rate']));
  set('unprocessedProbability', probability('unprocessed-rate', values['unprocessed-rate']));
  set('dropResponseProbability', probability('drop-rate', values['drop-rate']));
  if (values.latency !== undefined) {
    const range = /^(\d+)-(\d+)$/.exec(values.latency);
    faults.latencyMillis = range
      ? { min: Number(range[1]), max: Number(range[2]) }
      : integer('latency', values.latency);
  }
  if (values['no-quota']) faults.quota = false;
  else if (values.quota !== undefined) {
    const rate = Number(values.quota);
    if (!(rate >= 0))
      throw new EmulatorConfigurationError(
        `--quota must be a number of calls per second, got '${values.quota}'`,
      );
    faults.quota = { BatchMeterUsage: rate, MeterUsage: rate, ResolveCustomer: rate, RegisterUsage: rate };
  }

  const options: EmulatorOptions = {
    port: values.port === undefined ? 4566 : integer('port', values.port),
    host: values.host ?? '127.0.0.1',
    strict: values.strict ?? false,
    products: (values.products ?? []).map(parseProduct),
    customers: (values.customer ?? []).map(parseCustomer),
    faults,
  };
  if (values['no-auto-subscribe']) options.autoSubscribe = false;
  if (values.window !== undefined) options.window = windowArg('window', values.window);
  if (values['meter-usage-window'] !== undefined) {
    options.meterUsageWindow = windowArg('meter-usage-window', values['meter-usage-window']);
  }
  if (values['future-skew'] !== undefined)
    options.futureSkewMillis = parseDuration('future-skew', values['future-skew']);
  if (values['identical-resend'] !== undefined) {
    const v = values['identical-resend'];
    if (v !== 'success' && v !== 'duplicate') {
      throw new EmulatorConfigurationError(`--identical-resend must be 'success' or 'duplicate', got '${v}'`);
    }
    options.identicalResendStatus = v === 'success' ? 'Success' : 'DuplicateRecord';
  }
  if (values['unsubscribe-grace'] !== undefined) {
    options.unsubscribeGraceMillis = parseDuration('unsubscribe-grace', values['unsubscribe-grace']);
  }
  if (values['token-ttl'] !== undefined)
    options.tokenTtlMillis = parseDuration('token-ttl', values['token-ttl']);
  if (values.credentials !== undefined) options.credentials = values.credentials.map(parseCredentials);
  if (values.regions !== undefined) options.enabledRegions = values.regions.split(',').filter(Boolean);
  if (values['public-key-version'] !== undefined) {
    options.publicKeyVersion = integer('public-key-version', values['public-key-version']);
  }
  if (values.seed !== undefined) options.seed = integer('seed', values.seed);
  return { help: false, options };
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      products: { type: 'string', multiple: true },
      customer: { type: 'string', multiple: true },
      strict: { type: 'boolean' },
      'no-auto-subscribe': { type: 'boolean' },
      window: { type: 'string' },
      'meter-usage-window': { type: 'string' },
      'future-skew': { type: 'string' },
      'identical-resend': { type: 'string' },
      'unsubscribe-grace': { type: 'string' },
      'token-ttl': { type: 'string' },
      credentials: { type: 'string', multiple: true },
      regions: { type: 'string' },
      'public-key-version': { type: 'string' },
      seed: { type: 'string' },
      'throttle-rate': { type: 'string' },
      'error-rate': { type: 'string' },
      'unprocessed-rate': { type: 'string' },
      'drop-rate': { type: 'string' },
      latency: { type: 'string' },
      quota: { type: 'string' },
      'no-quota': { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
}

/** Parses `500ms`, `30s`, `5m`, `4h` or plain milliseconds. */
export function parseDuration(flag: string, text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!match)
    throw new EmulatorConfigurationError(`--${flag} must be a duration like 30s, 5m or 4h, got '${text}'`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] ?? 'ms']!;
  return Number(match[1]) * unit;
}

function parseProduct(text: string): ProductConfig {
  const colon = text.lastIndexOf(':');
  const productCode = colon < 0 ? text : text.slice(0, colon);
  const dimensions =
    colon < 0
      ? []
      : text
          .slice(colon + 1)
          .split(',')
          .filter(Boolean);
  if (productCode === '' || dimensions.length === 0) {
    throw new EmulatorConfigurationError(`--products must look like prod-abc:dim1,dim2, got '${text}'`);
  }
  return { productCode, dimensions };
}

function parseCustomer(text: string): CustomerConfig {
  const colon = text.indexOf(':');
  if (colon <= 0 || colon === text.length - 1) {
    throw new EmulatorConfigurationError(`--customer must look like prod-abc:customer-id, got '${text}'`);
  }
  return { productCode: text.slice(0, colon), customerIdentifier: text.slice(colon + 1) };
}

function parseCredentials(text: string): EmulatorCredentials {
  const colon = text.indexOf(':');
  if (colon <= 0 || colon === text.length - 1) {
    throw new EmulatorConfigurationError('--credentials must look like ACCESS_KEY_ID:SECRET_ACCESS_KEY');
  }
  return { accessKeyId: text.slice(0, colon), secretAccessKey: text.slice(colon + 1) };
}

function windowArg(flag: string, value: string): UsageWindow {
  if (value === '24h' || value === '6h' || value === '1h') return value;
  throw new EmulatorConfigurationError(`--${flag} must be 24h, 6h or 1h, got '${value}'`);
}

function integer(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new EmulatorConfigurationError(`--${flag} must be a non-negative integer, got '${value}'`);
  return n;
}
