// Parses `meterkit` command lines into a command, a target (a store or a running app) and options.
import { parseArgs } from 'node:util';
import { CliError, ExitCode } from './exit-codes.js';

export const USAGE = `Usage: meterkit <command> <target> [options]

Commands:
  status                         open hours, pending records by age, oldest, dead letters by reason, last call
  dead-letters list              dead letters with their reasons
  dead-letters export            dead letters as CSV or JSON (--format, --out)
  dead-letters requeue           move replayable dead letters back to the outbox (--id, --reason, --dry-run);
                                 what the service window no longer allows is refused with the reason
  audit export                   accepted records with their MeteringRecordId, CSV or JSON (--format, --out, --since)
  flush                          seal closed hours and send what is due (AWS by SDK config, or --endpoint)

Target (one of):
  --sqlite <file>                a SQLite store file (@meterkit/sqlite)
  --redis <url> [--prefix <p>]   a Redis store (@meterkit/redis); --prefix is the store's keyPrefix (default meterkit)
  --url <admin url>              a running app's admin endpoint (meteringAdmin / MeteringAdminModule);
                                 token from --token or METERKIT_ADMIN_TOKEN

Options:
  --json                         machine-readable output on stdout
  --format <csv|json>            export format (default csv)
  --out <file>                   write an export to a file instead of stdout
  --id <record id>               requeue only these records (repeatable)
  --reason <reason>              list/export/requeue only dead letters with this reason
  --dry-run                      requeue: show what would move, move nothing
  --min-window-left <minutes>    requeue: refuse records the service accepts for less than this (default 15)
  --since <ISO time>             audit export: records whose hour starts at or after this
  --limit <n>                    how many records to read at most (default 100000)
  --endpoint <url>               flush: the Marketplace Metering endpoint (e.g. the emulator)
  --region <region>              flush: the AWS region (default: the SDK's configuration)
  --timeout <seconds>            flush: give up after this long (default 30)
  --service-window-hours <n>     the service's acceptance window (default 24)
  --month-end-cutoff-hour <h>    the month-end cut-off hour on the 1st, UTC, or "none" (default 6)
  -h, --help                     this text

Exit codes: 0 ok, 1 failure, 2 usage, 3 unreachable, 4 unauthorized, 5 attention (status),
6 some dead letters refused (requeue), 7 records still pending (flush).`;

export type Command =
  | 'status'
  | 'dead-letters list'
  | 'dead-letters export'
  | 'dead-letters requeue'
  | 'audit export'
  | 'flush'
  | 'help';

export type Target =
  | { readonly kind: 'sqlite'; readonly filename: string }
  | { readonly kind: 'redis'; readonly url: string; readonly prefix: string }
  | { readonly kind: 'url'; readonly url: string; readonly token: string };

export interface CliArgs {
  readonly command: Command;
  readonly target: Target | undefined;
  readonly json: boolean;
  readonly format: 'csv' | 'json';
  readonly out: string | undefined;
  readonly ids: readonly string[] | undefined;
  readonly reason: string | undefined;
  readonly dryRun: boolean;
  readonly minWindowLeftMillis: number;
  readonly since: number | undefined;
  readonly limit: number;
  readonly endpoint: string | undefined;
  readonly region: string | undefined;
  readonly timeoutMillis: number;
  readonly serviceWindowMillis: number;
  readonly monthEndCutoffHourUtc: number | null;
}

const COMMANDS: readonly Command[] = [
  'status',
  'dead-letters list',
  'dead-letters export',
  'dead-letters requeue',
  'audit export',
  'flush',
];

function usage(message: string): never {
  throw new CliError(ExitCode.usage, message);
}

function number(name: string, value: string | undefined, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min) usage(`--${name} must be a number of at least ${min}, got "${value}"`);
  return n;
}

/** @throws {CliError} with `ExitCode.usage` for anything wrong on the command line. */
export function parseCliArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): CliArgs {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    usage((error as Error).message);
  }
  const { values: v, positionals } = parsed;
  if (v.help === true || positionals.length === 0 || positionals[0] === 'help') {
    return { ...defaults(), command: 'help' };
  }
  const command = (
    positionals[0] === 'status' || positionals[0] === 'flush'
      ? positionals[0]
      : positionals.slice(0, 2).join(' ')
  ) as Command;
  const expected = command === 'status' || command === 'flush' ? 1 : 2;
  if (!COMMANDS.includes(command) || positionals.length !== expected) {
    usage(`unknown command "${positionals.join(' ')}"`);
  }
  const targets = [v.sqlite, v.redis, v.url].filter((t) => t !== undefined);
  if (targets.length !== 1)
    usage('give exactly one target: --sqlite <file>, --redis <url> or --url <admin url>');
  let target: Target;
  if (v.sqlite !== undefined) target = { kind: 'sqlite', filename: v.sqlite };
  else if (v.redis !== undefined) target = { kind: 'redis', url: v.redis, prefix: v.prefix ?? 'meterkit' };
  else {
    const token = v.token ?? env.METERKIT_ADMIN_TOKEN;
    if (token === undefined || token === '')
      usage('--url needs the admin token: --token or METERKIT_ADMIN_TOKEN');
    target = { kind: 'url', url: (v.url as string).replace(/\/+$/, ''), token };
  }
  if (v.prefix !== undefined && v.redis === undefined) usage('--prefix goes with --redis');
  const format = v.format ?? 'csv';
  if (format !== 'csv' && format !== 'json') usage(`--format must be csv or json, got "${format}"`);
  let since: number | undefined;
  if (v.since !== undefined) {
    since = Date.parse(v.since);
    if (Number.isNaN(since)) usage(`--since must be an ISO time (e.g. 2026-11-26T00:00Z), got "${v.since}"`);
  }
  const cutoff = v['month-end-cutoff-hour'];
  return {
    command,
    target,
    json: v.json === true,
    format,
    out: v.out,
    ids: v.id,
    reason: v.reason,
    dryRun: v['dry-run'] === true,
    minWindowLeftMillis: number('min-window-left', v['min-window-left'], 15) * 60_000,
    since,
    limit: Math.floor(number('limit', v.limit, 100_000, 1)),
    endpoint: v.endpoint,
    region: v.region,
    timeoutMillis: number('timeout', v.timeout, 30, 1) * 1000,
    serviceWindowMillis: number('service-window-hours', v['service-window-hours'], 24, 1) * 3_600_000,
    monthEndCutoffHourUtc: cutoff === 'none' ? null : number('month-end-cutoff-hour', cutoff, 6),
  };
}

function defaults(): Omit<CliArgs, 'command'> {
  return {
    target: undefined,
    json: false,
    format: 'csv',
    out: undefined,
    ids: undefined,
    reason: undefined,
    dryRun: false,
    minWindowLeftMillis: 15 * 60_000,
    since: undefined,
    limit: 100_000,
    endpoint: undefined,
    region: undefined,
    timeoutMillis: 30_000,
    serviceWindowMillis: 24 * 3_600_000,
    monthEndCutoffHourUtc: 6,
  };
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      sqlite: { type: 'string' },
      redis: { type: 'string' },
      prefix: { type: 'string' },
      url: { type: 'string' },
      token: { type: 'string' },
      json: { type: 'boolean' },
      format: { type: 'string' },
      out: { type: 'string' },
      id: { type: 'string', multiple: true },
      reason: { type: 'string' },
      'dry-run': { type: 'boolean' },
      'min-window-left': { type: 'string' },
      since: { type: 'string' },
      limit: { type: 'string' },
      endpoint: { type: 'string' },
      region: { type: 'string' },
      timeout: { type: 'string' },
      'service-window-hours': { type: 'string' },
      'month-end-cutoff-hour': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}
