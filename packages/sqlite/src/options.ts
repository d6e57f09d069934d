/** SqliteStore's options, checked and with defaults applied. */
import { randomUUID } from 'node:crypto';
import { MeteringConfigurationError } from '@meterkit/core';

/** Options of {@link SqliteStore}. */
export interface SqliteStoreOptions {
  /** Path of the database file; created when missing. Keep it on a local disk (not NFS): SQLite's locks need one. */
  filename: string;
  /** Accepted records kept for `auditLog()`; older rows are deleted (they were billed). @default 10000 */
  auditCapacity?: number;
  /**
   * `full` syncs every commit to disk, so even a power cut loses nothing committed; `normal` survives a process crash
   * but may lose the last commits on a power cut or kernel panic.
   * @default 'full'
   */
  synchronous?: 'full' | 'normal';
  /** How long a call waits for another process's write on the same file before failing (and being retried). @default 5000 */
  busyTimeoutMillis?: number;
  /**
   * Only one process on the file sends at a time, so processes share the service's call quota instead of each
   * spending it: whoever calls `takeDue` first holds the submitter lease and renews it on every call; another process
   * takes over once it lapses. Must exceed the engine's `dispatchIntervalMillis`.
   * @default 60000
   */
  submitterLeaseMillis?: number;
  /** Names this process in the submitter lease. @default a random UUID */
  instanceId?: string;
}

/** @internal */
export interface ResolvedSqliteStoreOptions {
  readonly filename: string;
  readonly auditCapacity: number;
  readonly synchronous: 'full' | 'normal';
  readonly busyTimeoutMillis: number;
  readonly submitterLeaseMillis: number;
  readonly instanceId: string;
}

const known: Record<keyof SqliteStoreOptions, true> = {
  filename: true,
  auditCapacity: true,
  synchronous: true,
  busyTimeoutMillis: true,
  submitterLeaseMillis: true,
  instanceId: true,
};

function invalid(field: string, value: unknown, rule: string): never {
  throw new MeteringConfigurationError(
    'ERR_METERING_INVALID_OPTION',
    field,
    `SqliteStore option \`${field}\` is ${JSON.stringify(value)}, but it must be ${rule}.`,
  );
}

function positiveInteger(field: string, value: unknown, fallback: number): number {
  const resolved = value ?? fallback;
  if (typeof resolved !== 'number' || !Number.isSafeInteger(resolved) || resolved < 1) {
    invalid(field, value, 'a positive integer');
  }
  return resolved;
}

/** Applies defaults and rejects unknown or invalid options, naming the field. @internal */
export function parseSqliteStoreOptions(input: SqliteStoreOptions): ResolvedSqliteStoreOptions {
  if (input === null || typeof input !== 'object') invalid('options', input, 'an object with a `filename`');
  for (const [key, value] of Object.entries(input)) {
    if (value !== undefined && !Object.hasOwn(known, key)) {
      throw new MeteringConfigurationError(
        'ERR_METERING_UNKNOWN_OPTION',
        key,
        `Unknown SqliteStore option \`${key}\`. Known options: ${Object.keys(known).join(', ')}.`,
      );
    }
  }
  if (typeof input.filename !== 'string' || input.filename.length === 0) {
    invalid('filename', input.filename, 'a file path, e.g. "/var/lib/myapp/metering.sqlite"');
  }
  const synchronous = input.synchronous ?? 'full';
  if (synchronous !== 'full' && synchronous !== 'normal')
    invalid('synchronous', synchronous, "'full' or 'normal'");
  const instanceId = input.instanceId ?? randomUUID();
  if (typeof instanceId !== 'string' || instanceId.length === 0)
    invalid('instanceId', instanceId, 'a non-empty string');
  return {
    filename: input.filename,
    auditCapacity: positiveInteger('auditCapacity', input.auditCapacity, 10_000),
    synchronous,
    busyTimeoutMillis: positiveInteger('busyTimeoutMillis', input.busyTimeoutMillis, 5_000),
    submitterLeaseMillis: positiveInteger('submitterLeaseMillis', input.submitterLeaseMillis, 60_000),
    instanceId,
  };
}
