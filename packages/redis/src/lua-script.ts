/** A Lua script run by its SHA (EVALSHA), loaded again when Redis has forgotten it. */
import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';

/** A client the store can talk to: a single node (or Sentinel-managed) connection, or a Cluster. */
export type RedisClient = Redis | Cluster;

/**
 * One Lua script, run by its SHA1 (`EVALSHA`) and loaded with `EVAL` the first time a node does not know it, so a
 * restarted or failed-over node needs no set-up.
 */
export class LuaScript {
  readonly sha: string;

  constructor(readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run(client: RedisClient, key: string, args: readonly (string | number)[]): Promise<unknown> {
    try {
      return await client.evalsha(this.sha, 1, key, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return client.eval(this.source, 1, key, ...args);
    }
  }
}
