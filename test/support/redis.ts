/** The Redis server tests use: REDIS_URL, or a throw-away local redis-server, or a reason to skip. */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { accessSync, constants } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';
import { Redis } from 'ioredis';

/** A Redis for tests: `url` to connect to, or `skip` saying why there is none. */
export type TestRedis =
  | { readonly url: string; readonly skip?: undefined }
  | { readonly url?: undefined; readonly skip: string };

/** The flags a throw-away test server runs with: loopback only, nothing written to disk. */
export const TEST_SERVER_FLAGS = ['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'] as const;

let shared: Promise<TestRedis> | undefined;
let server: ChildProcess | undefined;

/**
 * The Redis the tests of this process use, decided once:
 * 1. `REDIS_URL` set: that server. Unreachable is an error (never a silent skip).
 * 2. a `redis-server` (or `valkey-server`) on PATH: a private server on a free loopback port, stopped when the
 *    process exits.
 * 3. `CI` set: an error (CI must test the Redis store).
 * 4. otherwise `{ skip }` with the reason; use it with `describe.skipIf`.
 */
export function testRedis(): Promise<TestRedis> {
  shared ??= decide();
  return shared;
}

/** A key prefix no other test uses, so suites can share one server and run in parallel. */
export function uniquePrefix(label = 't'): string {
  return `${label}-${randomUUID().slice(0, 12)}`;
}

/** Stops the private server, if this process started one. */
export async function stopTestRedis(): Promise<void> {
  const child = server;
  server = undefined;
  shared = undefined;
  if (child === undefined || child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

async function decide(): Promise<TestRedis> {
  const fromEnv = process.env.REDIS_URL;
  if (fromEnv !== undefined && fromEnv !== '') {
    await ping(fromEnv).catch((error: unknown) => {
      throw new Error(
        `REDIS_URL is set (${fromEnv}) but that Redis does not answer: ${(error as Error).message}. Start it, or unset REDIS_URL to let the tests start their own redis-server.`,
      );
    });
    return { url: fromEnv };
  }
  const binary = findOnPath('redis-server') ?? findOnPath('valkey-server');
  if (binary !== undefined) return { url: await startServer(binary) };
  const why = 'no REDIS_URL and no redis-server (or valkey-server) on PATH';
  if (process.env.CI)
    throw new Error(`Redis tests cannot run in CI: ${why}. Install redis-server or set REDIS_URL.`);
  process.stderr.write(
    `\n[redis tests skipped] ${why}. Install redis-server or set REDIS_URL to run them.\n`,
  );
  return { skip: why };
}

async function ping(url: string): Promise<void> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 2_000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.ping();
  } finally {
    client.disconnect();
  }
}

/** The executable `name` on PATH, if any. */
export function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** A loopback port nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

async function startServer(binary: string): Promise<string> {
  let lastError: unknown;
  // Another process may grab the probed port before the server binds it: try a few.
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const child = spawn(binary, ['--port', String(port), ...TEST_SERVER_FLAGS], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const url = `redis://127.0.0.1:${port}`;
    try {
      await waitUntilReady(child, url);
      server = child;
      process.once('exit', () => child.kill('SIGKILL'));
      return url;
    } catch (error) {
      lastError = error;
      child.kill('SIGKILL');
    }
  }
  throw new Error(`could not start ${binary}: ${(lastError as Error)?.message}`);
}

async function waitUntilReady(child: ChildProcess, url: string): Promise<void> {
  let output = '';
  child.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode}: ${output.slice(-500)}`);
    try {
      await ping(url);
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  throw new Error(`not ready after 5 s: ${output.slice(-500)}`);
}
