/** `@meterkit/redis`: a usage store and customer registry shared by many replicas through Redis. */
export type { RedisClient } from './lua-script.js';
export type { RedisStoreOptions } from './options.js';
export { RedisRegistry, type RedisRegistryOptions } from './redis-registry.js';
export { RedisStore } from './redis-store.js';
