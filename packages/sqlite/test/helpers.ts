/** SQLite store test fixtures: a scratch directory per test and stores opened on its files. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore, type SqliteStoreOptions } from '@meterkit/sqlite';

/** A fresh directory for one test's database files; `remove()` deletes it. */
export function scratchDir(): { path: string; file: (name?: string) => string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), 'meterkit-sqlite-'));
  return {
    path,
    file: (name = 'metering.sqlite') => join(path, name),
    remove: () => rmSync(path, { recursive: true, force: true }),
  };
}

/** Opens a store on `filename` with the given options. */
export function openStore(filename: string, options: Omit<SqliteStoreOptions, 'filename'> = {}): SqliteStore {
  return new SqliteStore({ filename, ...options });
}
