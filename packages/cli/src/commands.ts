// The commands: each reads or acts through a target and prints a table (or JSON), returning its exit code.
import { writeFile } from 'node:fs/promises';
import { type AuditRow, type DeadLetterRow, toCsv } from '@meterkit/core/ops';
import type { CliArgs } from './args.js';
import { ExitCode, type ExitCodeValue } from './exit-codes.js';
import { duration, table } from './table.js';
import type { OpsTarget } from './target.js';

/** Where a command writes. */
export interface Output {
  stdout(text: string): void;
  stderr(text: string): void;
}

/** `status` asks for attention when the oldest pending record has less than this left. */
const ATTENTION_WINDOW_LEFT_MILLIS = 6 * 3_600_000;

const DEAD_LETTER_COLUMNS = [
  'RecordId',
  'Reason',
  'Detail',
  'ProductCode',
  'CustomerIdentifier',
  'CustomerAWSAccountId',
  'LicenseArn',
  'Dimension',
  'Hour',
  'Quantity',
  'DeadAt',
  'Attempts',
] as const satisfies readonly (keyof DeadLetterRow)[];

const AUDIT_COLUMNS = [
  'MeteringRecordId',
  'ProductCode',
  'CustomerIdentifier',
  'CustomerAWSAccountId',
  'LicenseArn',
  'Dimension',
  'Timestamp',
  'Quantity',
  'AcceptedAt',
  'RecordId',
] as const satisfies readonly (keyof AuditRow)[];

/** Who a dead letter belongs to, in a table: the customer or the account. */
function customerOf(row: DeadLetterRow): string {
  return row.CustomerIdentifier || row.CustomerAWSAccountId;
}

async function exportRows<T extends object>(
  rows: readonly T[],
  columns: readonly (keyof T & string)[],
  args: CliArgs,
  out: Output,
): Promise<void> {
  const text = args.format === 'json' ? `${JSON.stringify(rows, null, 2)}\n` : toCsv(rows, columns);
  if (args.out === undefined) out.stdout(text);
  else {
    await writeFile(args.out, text);
    out.stderr(`wrote ${rows.length} rows to ${args.out}\n`);
  }
}

async function status(target: OpsTarget, args: CliArgs, out: Output): Promise<ExitCodeValue> {
  const s = await target.status();
  const oldest = s.pending.oldest;
  const attention =
    s.deadLetters.total > 0 ||
    (oldest !== undefined && oldest.windowLeftMillis < ATTENTION_WINDOW_LEFT_MILLIS);
  if (args.json) {
    out.stdout(`${JSON.stringify({ ...s, attention }, null, 2)}\n`);
    return attention ? ExitCode.attention : ExitCode.ok;
  }
  const lines = [
    `target        ${target.label} (${s.store.name} store, ${s.store.scope})`,
    `open hours    ${s.open.keys} keys, ${s.open.units} units not sealed yet`,
    `pending       ${s.pending.records} records, ${s.pending.units} units`,
    oldest === undefined
      ? 'oldest        -'
      : `oldest        ${oldest.hour}: ${duration(oldest.ageMillis)} old, ${duration(oldest.windowLeftMillis)} left in the service window`,
    `dead letters  ${s.deadLetters.total}${
      s.deadLetters.total === 0
        ? ''
        : ` (${Object.entries(s.deadLetters.byReason)
            .sort(([a], [b]) => a.localeCompare(b))
            .map(([reason, n]) => `${reason} ${n}`)
            .join(', ')})`
    }`,
    s.sink?.lastCall === undefined
      ? s.lastAccepted === undefined
        ? 'last call     -'
        : `last accepted ${new Date(s.lastAccepted.at).toISOString()} (${s.lastAccepted.recordId})`
      : `last call     ${s.sink.lastCall.outcome}${s.sink.lastCall.code === undefined ? '' : ` (${s.sink.lastCall.code})`} at ${new Date(s.sink.lastCall.at).toISOString()}${
          s.sink.failingSince === undefined
            ? ''
            : `; failing since ${new Date(s.sink.failingSince).toISOString()} (${s.sink.failedCalls} calls)`
        }`,
    '',
    table(
      ['pending by age', 'records', 'units'],
      s.pending.byAge.map((b, i, all) => [
        b.underHours === null ? `${all[i - 1]?.underHours ?? 0} h and older` : `under ${b.underHours} h`,
        b.records,
        b.units,
      ]),
    ),
  ];
  out.stdout(`${lines.join('\n')}\n`);
  if (attention) {
    out.stderr(
      s.deadLetters.total > 0
        ? 'attention: dead letters wait (meterkit dead-letters list)\n'
        : 'attention: the oldest pending record nears the end of the service window\n',
    );
  }
  return attention ? ExitCode.attention : ExitCode.ok;
}

async function deadLetters(target: OpsTarget, args: CliArgs): Promise<DeadLetterRow[]> {
  const rows = await target.deadLetters(args.limit);
  return args.reason === undefined ? rows : rows.filter((r) => r.Reason === args.reason);
}

async function listDeadLetters(target: OpsTarget, args: CliArgs, out: Output): Promise<ExitCodeValue> {
  const rows = await deadLetters(target, args);
  if (args.json) out.stdout(`${JSON.stringify(rows, null, 2)}\n`);
  else if (rows.length === 0) out.stdout('no dead letters\n');
  else {
    out.stdout(
      `${table(
        ['record', 'reason', 'customer', 'dimension', 'hour', 'quantity', 'detail'],
        rows.map((r) => [r.RecordId, r.Reason, customerOf(r), r.Dimension, r.Hour, r.Quantity, r.Detail]),
      )}\n`,
    );
  }
  return ExitCode.ok;
}

async function requeue(target: OpsTarget, args: CliArgs, out: Output): Promise<ExitCodeValue> {
  let ids = args.ids;
  if (args.reason !== undefined) {
    const matching = (await deadLetters(target, args)).map((r) => r.RecordId);
    ids = ids === undefined ? matching : ids.filter((id) => matching.includes(id));
  }
  const answer = await target.requeue({
    ids,
    minWindowLeftMillis: args.minWindowLeftMillis,
    dryRun: args.dryRun,
  });
  const code = answer.refused.length > 0 ? ExitCode.refused : ExitCode.ok;
  if (args.json) {
    out.stdout(`${JSON.stringify({ dryRun: args.dryRun, ...answer }, null, 2)}\n`);
    return code;
  }
  const verb = args.dryRun ? 'would requeue' : 'requeued';
  const lines = [
    `${verb} ${args.dryRun ? answer.requeued.length : answer.moved} records (same identity: key, hour, quantity)`,
  ];
  if (answer.requeued.length > 0) {
    lines.push(
      table(
        ['record', 'reason', 'customer', 'dimension', 'hour', 'quantity'],
        answer.requeued.map((r) => [r.RecordId, r.Reason, customerOf(r), r.Dimension, r.Hour, r.Quantity]),
      ),
    );
  }
  if (answer.refused.length > 0) {
    lines.push('', `refused ${answer.refused.length} records:`);
    lines.push(
      table(
        ['record', 'reason', 'hour', 'quantity', 'why'],
        answer.refused.map((r) => [r.RecordId, r.Reason, r.Hour, r.Quantity, r.Why]),
      ),
    );
  }
  out.stdout(`${lines.join('\n')}\n`);
  return code;
}

async function auditExport(target: OpsTarget, args: CliArgs, out: Output): Promise<ExitCodeValue> {
  const rows = await target.audit(args.limit);
  const since = args.since;
  const selected = since === undefined ? rows : rows.filter((r) => Date.parse(r.Timestamp) >= since);
  await exportRows(selected, AUDIT_COLUMNS, args, out);
  return ExitCode.ok;
}

async function flush(target: OpsTarget, args: CliArgs, out: Output): Promise<ExitCodeValue> {
  const report = await target.flush(args.timeoutMillis);
  const code = report.pending > 0 ? ExitCode.pending : ExitCode.ok;
  if (args.json) {
    out.stdout(`${JSON.stringify(report, null, 2)}\n`);
    return code;
  }
  out.stdout(
    `${table(
      ['sealed', 'calls', 'accepted', 'retrying', 'dead-lettered', 'carried forward', 'still pending'],
      [
        [
          report.sealedRecords,
          report.calls,
          report.accepted,
          report.retrying,
          report.deadLettered,
          report.carriedForward,
          report.pending,
        ],
      ],
    )}\n`,
  );
  return code;
}

/** Runs one parsed command against its target. */
export async function runCommand(target: OpsTarget, args: CliArgs, out: Output): Promise<ExitCodeValue> {
  switch (args.command) {
    case 'status':
      return status(target, args, out);
    case 'dead-letters list':
      return listDeadLetters(target, args, out);
    case 'dead-letters export':
      await exportRows(await deadLetters(target, args), DEAD_LETTER_COLUMNS, args, out);
      return ExitCode.ok;
    case 'dead-letters requeue':
      return requeue(target, args, out);
    case 'audit export':
      return auditExport(target, args, out);
    case 'flush':
      return flush(target, args, out);
    default:
      return ExitCode.usage;
  }
}
