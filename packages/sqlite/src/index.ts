/** `@meterkit/sqlite`: a durable single-host usage store and customer registry in one SQLite file. */
export {
  type AdapterStoreOption,
  DEFAULT_STORE_PATH,
  openAdapterStore,
  STORE_PATH_ENV,
} from './adapter-store.js';
export type { SqliteStoreOptions } from './options.js';
export { SCHEMA_VERSION } from './schema.js';
export { SqliteRegistry, type SqliteRegistryOptions } from './sqlite-registry.js';
export { SqliteStore } from './sqlite-store.js';
