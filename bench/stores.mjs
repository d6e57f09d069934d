#!/usr/bin/env node
// What a durable or shared store costs. Two questions, every store measured in this one process and run:
// 1. Off the request path: how fast a checkpoint moves counts into the store (deltas/s) and how fast closed hours are
//    sealed (records/s), for the memory store (baseline), SQLite (synchronous full and normal) and Redis.
// 2. On the request path: ns per `engine.record()` with each store behind a running engine (checkpointing on its own
//    timer while requests are counted), beside the memory store, and the longest event-loop stall the store's
//    background work caused. The store must not show up in the first figure.
//
// Run alone: `npx tsc -b packages/core packages/sqlite packages/redis && node bench/stores.mjs` (BUILT packages).
// Redis: REDIS_URL, else a `redis-server` on PATH is started on a free loopback port; else Redis rows are skipped.
// Quick run: `BENCH_QUICK=1 node bench/stores.mjs`.
import { spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createMeteringEngine, HOUR_MILLIS, MemoryStore, silentLogger } from '@meterkit/core';
import { keyIdOf } from '@meterkit/core/store';
import { InMemorySink } from '@meterkit/core/testing';
import { RedisStore } from '@meterkit/redis';
import { SqliteStore } from '@meterkit/sqlite';
import { Redis } from 'ioredis';

const QUICK = process.env.BENCH_QUICK === '1';
const CHECKPOINT_KEYS = QUICK ? 20_000 : 100_000;
const CHECKPOINT_ROUNDS = 3;
const SLICE = 5_000;
const RECORD_KEYS = 10_000;
const RECORD_MILLIS = QUICK ? 1_000 : 3_000;
const RECORD_ROUNDS = QUICK ? 3 : 5;
const CHUNK = 10_000;
const PRODUCT = 'prod-abc123';
const DIMENSION = 'api_calls';
const H0 = Date.UTC(2026, 10, 26, 10);

const scratch = mkdtempSync(join(tmpdir(), 'meterkit-bench-'));
let files = 0;
const redis = await redisUrl();

/** Each store under test: a factory for a fresh, empty store. */
const stores = {
  memory: () => new MemoryStore(),
  'sqlite (full)': () => new SqliteStore({ filename: join(scratch, `s${files++}.sqlite`) }),
  'sqlite (normal)': () =>
    new SqliteStore({ filename: join(scratch, `s${files++}.sqlite`), synchronous: 'normal' }),
  ...(redis.url === undefined
    ? {}
    : { redis: () => new RedisStore({ url: redis.url, keyPrefix: `bench-${process.pid}-${files++}` }) }),
};
if (redis.url === undefined) console.log(`(redis skipped: ${redis.skip})\n`);

try {
  await checkpointAndSeal();
  await requestPath();
} finally {
  await redis.stop?.();
  rmSync(scratch, { recursive: true, force: true });
}

async function checkpointAndSeal() {
  const keyIds = Array.from({ length: CHECKPOINT_KEYS }, (_, i) =>
    keyIdOf({
      productCode: PRODUCT,
      dimension: DIMENSION,
      customerIdentifier: `cust-${String(i).padStart(8, '0')}`,
    }),
  );
  const rows = [];
  for (const [name, make] of Object.entries(stores)) {
    const store = make();
    let deltas = 0;
    let checkpointNanos = 0n;
    for (let round = 0; round < CHECKPOINT_ROUNDS; round++) {
      for (let from = 0; from < keyIds.length; from += SLICE) {
        // A fresh slice each time, as the engine hands over: one delta per key, in the open hour.
        const slice = keyIds
          .slice(from, from + SLICE)
          .map((keyId) => ({ keyId, hourStart: H0, quantity: 3 }));
        const started = process.hrtime.bigint();
        await store.addDeltas(slice);
        checkpointNanos += process.hrtime.bigint() - started;
        deltas += slice.length;
      }
    }
    let sealed = 0;
    const sealStarted = process.hrtime.bigint();
    for (let more = true; more; ) {
      const result = await store.sealClosedHours(H0 + HOUR_MILLIS, SLICE);
      sealed += result.sealedRecords;
      more = result.more;
    }
    const sealNanos = process.hrtime.bigint() - sealStarted;
    await store.close();
    rows.push({
      store: name,
      'checkpoint deltas/s': Math.round(deltas / (Number(checkpointNanos) / 1e9)),
      'ms per 5,000-delta checkpoint': ((Number(checkpointNanos) / 1e6) * SLICE) / deltas,
      'seal records/s': Math.round(sealed / (Number(sealNanos) / 1e9)),
    });
  }
  const base = rows[0];
  console.log(
    `Checkpoint and seal, ${CHECKPOINT_KEYS.toLocaleString()} keys x ${CHECKPOINT_ROUNDS} checkpoints\n`,
  );
  printTable(
    rows.map((row) => ({
      store: row.store,
      'checkpoint deltas/s': row['checkpoint deltas/s'].toLocaleString(),
      'vs memory': ratio(row['checkpoint deltas/s'], base['checkpoint deltas/s']),
      'ms / checkpoint slice': row['ms per 5,000-delta checkpoint'].toFixed(2),
      'seal records/s': row['seal records/s'].toLocaleString(),
      'seal vs memory': ratio(row['seal records/s'], base['seal records/s']),
    })),
  );
}

async function requestPath() {
  const customers = Array.from({ length: RECORD_KEYS }, (_, i) => ({
    customerIdentifier: `cust-${String(i).padStart(8, '0')}`,
    productCode: PRODUCT,
  }));
  const results = Object.fromEntries(
    Object.keys(stores).map((name) => [name, { ns: [], stall: [], p99: [] }]),
  );
  await measureRecord(stores.memory(), customers); // warm-up round, not counted: JIT and heap settle first
  // Rounds interleave the stores, so drift in the machine's speed spreads over all of them.
  for (let round = 0; round < RECORD_ROUNDS; round++) {
    for (const [name, make] of Object.entries(stores)) {
      const { nsPerOp, maxStallMillis, p99StallMillis } = await measureRecord(make(), customers);
      results[name].ns.push(nsPerOp);
      results[name].stall.push(maxStallMillis);
      results[name].p99.push(p99StallMillis);
    }
  }
  const base = median(results.memory.ns);
  console.log(
    `\nRequest path: engine.record() over ${RECORD_KEYS.toLocaleString()} live keys, engine running (checkpoint every 1 s), median of ${RECORD_ROUNDS} rounds of ${RECORD_MILLIS} ms\n`,
  );
  printTable(
    Object.entries(results).map(([name, r]) => ({
      store: name,
      'ns / record()': median(r.ns).toFixed(1),
      'vs memory': ratio(median(r.ns), base),
      'event-loop delay p99 (ms)': median(r.p99).toFixed(1),
      'max event-loop stall (ms)': Math.max(...r.stall).toFixed(1),
    })),
  );
}

/** Counts requests for `RECORD_MILLIS`, timing only the `record()` calls; the loop yields so timers and I/O run. */
async function measureRecord(store, customers) {
  const engine = createMeteringEngine({
    sink: new InMemorySink(),
    store,
    logger: silentLogger,
    productCode: PRODUCT,
    maxLiveKeys: 10_000_000,
    // The memory store sends its open hour at shutdown: do not let the quota stretch the bench.
    maxCallsPerSecond: 10_000,
  });
  await engine.start();
  for (let i = 0; i < 200_000; i++) engine.record(customers[i % customers.length], DIMENSION, 1); // warm-up
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  let nanos = 0n;
  let calls = 0;
  let next = 0;
  const until = performance.now() + RECORD_MILLIS;
  while (performance.now() < until) {
    const started = process.hrtime.bigint();
    for (let i = 0; i < CHUNK; i++) {
      engine.record(customers[next], DIMENSION, 1);
      next = next + 1 === customers.length ? 0 : next + 1;
    }
    nanos += process.hrtime.bigint() - started;
    calls += CHUNK;
    await new Promise((resolve) => setImmediate(resolve));
  }
  loop.disable();
  await engine.shutdown({ timeoutMillis: 5_000 });
  return {
    nsPerOp: Number(nanos) / calls,
    maxStallMillis: loop.max / 1e6,
    p99StallMillis: loop.percentile(99) / 1e6,
  };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** `value / base` as "1.00x". */
function ratio(value, base) {
  return `${(value / base).toFixed(2)}x`;
}

function printTable(rows) {
  const columns = Object.keys(rows[0]);
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c]).length)));
  const line = (cells) => `| ${cells.map((cell, i) => String(cell).padEnd(widths[i])).join(' | ')} |`;
  console.log(line(columns));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const row of rows) console.log(line(columns.map((c) => row[c])));
}

/** REDIS_URL, or a private redis-server on a free loopback port, or a reason to skip. */
async function redisUrl() {
  if (process.env.REDIS_URL) return { url: process.env.REDIS_URL };
  const binary = ['redis-server', 'valkey-server']
    .flatMap((name) => (process.env.PATH ?? '').split(delimiter).map((dir) => join(dir, name)))
    .find((candidate) => {
      try {
        accessSync(candidate, constants.X_OK);
        return true;
      } catch {
        return false;
      }
    });
  if (binary === undefined) return { skip: 'no REDIS_URL and no redis-server on PATH' };
  const port = await new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
  const child = spawn(
    binary,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  );
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.ping();
      client.disconnect();
      return { url, stop: async () => void child.kill('SIGTERM') };
    } catch {
      client.disconnect();
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  child.kill('SIGKILL');
  return { skip: `${binary} did not start` };
}
