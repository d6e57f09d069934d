export type { RedisClient } from './lua-script.js';
export type { RedisStoreOptions } from './options.js';
export { RedisStore } from './redis-store.js';
