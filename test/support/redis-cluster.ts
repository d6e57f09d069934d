/** A throw-away Redis Cluster on loopback for the cluster tests. */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { findOnPath, freePort, TEST_SERVER_FLAGS } from './redis.js';

const SLOTS = 16_384;

/** A throw-away Redis Cluster of `nodes` masters on loopback, each owning an equal share of the slots. */
export interface TestRedisCluster {
  readonly nodes: readonly { host: string; port: number }[];
  stop(): Promise<void>;
}

/**
 * A Redis Cluster for tests, or `{ skip }` when no `redis-server` is on PATH outside CI (under CI it is an error:
 * the cluster tests must run there). Built with plain commands (`CLUSTER ADDSLOTS`, `CLUSTER MEET`), so it needs
 * neither `redis-cli` nor Redis 7's `ADDSLOTSRANGE`.
 */
export async function startTestRedisCluster(
  nodes = 3,
): Promise<TestRedisCluster | { readonly skip: string }> {
  const binary = findOnPath('redis-server') ?? findOnPath('valkey-server');
  if (binary === undefined) {
    const why = 'no redis-server (or valkey-server) on PATH to build a cluster from';
    if (process.env.CI) throw new Error(`Redis Cluster tests cannot run in CI: ${why}.`);
    process.stderr.write(`\n[redis cluster tests skipped] ${why}.\n`);
    return { skip: why };
  }
  const dir = mkdtempSync(join(tmpdir(), 'meterkit-cluster-'));
  const children: ChildProcess[] = [];
  const stop = async () => {
    await Promise.all(
      children.map((child) => {
        if (child.exitCode !== null) return undefined;
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        return exited;
      }),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const ports: number[] = [];
    for (let i = 0; i < nodes; i++) {
      const port = await freePort();
      const child = spawn(
        binary,
        [
          '--port',
          String(port),
          ...TEST_SERVER_FLAGS,
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          join(dir, `nodes-${port}.conf`),
          '--dir',
          dir,
        ],
        { stdio: 'ignore' },
      );
      children.push(child);
      process.once('exit', () => child.kill('SIGKILL'));
      ports.push(port);
    }
    // ioredis queues commands and reconnects until the server listens, so the first PING waits for it.
    const clients = ports.map((port) => {
      const client = new Redis({ host: '127.0.0.1', port, retryStrategy: () => 50 });
      client.on('error', () => undefined);
      return client;
    });
    try {
      for (const client of clients) await client.ping();
      for (const [i, client] of clients.entries()) {
        const from = Math.floor((i * SLOTS) / nodes);
        const to = Math.floor(((i + 1) * SLOTS) / nodes);
        const slots = Array.from({ length: to - from }, (_, k) => from + k);
        await client.call('CLUSTER', 'ADDSLOTS', ...slots.map(String));
      }
      for (const port of ports.slice(1)) {
        await (clients[0] as Redis).call('CLUSTER', 'MEET', '127.0.0.1', String(port));
      }
      for (const client of clients) await waitForClusterOk(client);
    } finally {
      for (const client of clients) client.disconnect();
    }
    return { nodes: ports.map((port) => ({ host: '127.0.0.1', port })), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Gossip takes a moment to spread: each node must see every slot served before the cluster takes commands. */
async function waitForClusterOk(client: Redis): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const info = (await client.call('CLUSTER', 'INFO')) as string;
    if (info.includes('cluster_state:ok')) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('the test cluster did not reach cluster_state:ok within 10 s');
}
