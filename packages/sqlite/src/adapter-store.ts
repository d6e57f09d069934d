/** The store the Nest and Express adapters use when the app names none: a SQLite file that outlives the process. */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { MemoryStore, MeteringConfigurationError, type UsageStore } from '@meterkit/core';
import { SqliteStore } from './sqlite-store.js';

/** The environment variable that moves the default store's file. */
export const STORE_PATH_ENV = 'METERKIT_STORE_PATH';

/** Where the default store's file goes when neither the `storePath` option nor `METERKIT_STORE_PATH` says. */
export const DEFAULT_STORE_PATH = '.meterkit/usage.sqlite';

/**
 * An adapter's `store` option:
 * - omitted or `'sqlite'`: a {@link SqliteStore} at `storePath`, else `$METERKIT_STORE_PATH`, else
 *   `.meterkit/usage.sqlite` (relative to the working directory). It keeps the open hour at shutdown for the next start,
 *   so a restart within the hour loses nothing;
 * - `'memory'`: a `MemoryStore`: sends its partial hour at shutdown, so a restart within the same UTC hour loses the
 *   later process's usage of that hour (AWS bills only the first record per customer, dimension and hour);
 * - any `UsageStore` instance (`MemoryStore`, `SqliteStore`, `RedisStore`): used as given.
 */
export type AdapterStoreOption = UsageStore | 'memory' | 'sqlite';

function isStore(value: unknown): value is UsageStore {
  return typeof value === 'object' && value !== null && typeof (value as UsageStore).takeDue === 'function';
}

/**
 * Turns an adapter's `store` (and `storePath`) option into a store, creating the default file's directory.
 * @throws {MeteringConfigurationError} naming `store` or `storePath` when the value is not one of the above.
 */
export function openAdapterStore(
  store: unknown,
  storePath: unknown,
  env: NodeJS.ProcessEnv = process.env,
): UsageStore {
  if (isStore(store)) return store;
  if (store === 'memory') return new MemoryStore();
  if (store !== undefined && store !== 'sqlite') {
    throw new MeteringConfigurationError(
      'ERR_METERING_INVALID_OPTION',
      'store',
      `Option \`store\` is ${JSON.stringify(store)}, but it must be 'sqlite' (the default: a file that keeps usage across restarts), 'memory', or a UsageStore (MemoryStore, SqliteStore, RedisStore).`,
    );
  }
  if (storePath !== undefined && (typeof storePath !== 'string' || storePath.length === 0)) {
    throw new MeteringConfigurationError(
      'ERR_METERING_INVALID_OPTION',
      'storePath',
      `Option \`storePath\` is ${JSON.stringify(storePath)}, but it must be a file path, e.g. '/var/lib/myapp/usage.sqlite'.`,
    );
  }
  const filename = resolve((storePath as string | undefined) ?? (env[STORE_PATH_ENV] || DEFAULT_STORE_PATH));
  mkdirSync(dirname(filename), { recursive: true });
  return new SqliteStore({ filename });
}
