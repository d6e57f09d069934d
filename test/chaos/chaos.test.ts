import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HOUR_MILLIS } from '@meterkit/core';
import { RedisStore } from '@meterkit/redis';
import { SqliteStore } from '@meterkit/sqlite';
import { ensureBuilt } from '@meterkit/test-support/build';
import { stopTestRedis, testRedis, uniquePrefix } from '@meterkit/test-support/redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { H0, runScenario, type ScenarioResult, type Step } from './scenario.js';

const MINUTE = 60_000;
const H1 = H0 + HOUR_MILLIS;
const H2 = H1 + HOUR_MILLIS;
const H3 = H2 + HOUR_MILLIS;

const redis = await testRedis();
afterAll(stopTestRedis);
// The replicas are separate Node processes: they run the built packages.
beforeAll(() => ensureBuilt('core', 'aws-marketplace', 'express', 'sqlite', 'redis'), 240_000);

function report(label: string, result: ScenarioResult): void {
  const lines = Object.entries(result.figures).map(([name, value]) => `  ${name}: ${value}`);
  process.stdout.write(`\nchaos ${label}\n${lines.join('\n')}\n  dead letters: ${result.deadLetters}\n`);
  if (result.problems.length > 0) {
    process.stdout.write(
      `first difference: ${result.problems[0]}\nreplica stderr (tail):\n${result.replicaErrors}\n`,
    );
  }
}

/** Stops one replica gracefully mid-hour, kills another mid-hour, across three hour boundaries. */
const steps = (graceful: string, killed: string): Step[] => [
  { at: H1 + 20 * MINUTE, stop: graceful },
  { at: H2 + 30 * MINUTE, kill: killed },
  { at: H3 + 5 * MINUTE, endTraffic: true },
];

describe('chaos: billing stays exact under faults, stops and kills', () => {
  it.skipIf(redis.url === undefined)(
    "four replicas sharing Redis bill every served unit once, losing at most the killed replica's last checkpoint",
    async () => {
      const keyPrefix = uniquePrefix('chaos');
      const result = await runScenario({
        label: 'redis',
        replicas: ['r1', 'r2', 'r3', 'r4'],
        storeEnv: { CHAOS_STORE: 'redis', REDIS_URL: redis.url as string, CHAOS_KEY_PREFIX: keyPrefix },
        openStore: () => new RedisStore({ url: redis.url, keyPrefix }),
        steps: steps('r2', 'r3'),
        customers: 24,
        concurrency: 12,
        seed: 11,
      });
      report('(redis, 4 replicas)', result);
      expect(result.problems).toEqual([]);
      expect(result.deadLetters).toBe(0);
      expect(result.figures['hours billed']).toBeGreaterThanOrEqual(4);
    },
    240_000,
  );

  it('one process on SQLite, stopped and then killed, bills every served unit once, losing at most its last checkpoint', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meterkit-chaos-'));
    const filename = join(dir, 'metering.sqlite');
    try {
      const result = await runScenario({
        label: 'sqlite',
        replicas: ['solo'],
        storeEnv: { CHAOS_STORE: 'sqlite', CHAOS_SQLITE_FILE: filename },
        openStore: () => new SqliteStore({ filename }),
        steps: steps('solo', 'solo'),
        customers: 24,
        concurrency: 8,
        seed: 12,
      });
      report('(sqlite, 1 process)', result);
      expect(result.problems).toEqual([]);
      expect(result.deadLetters).toBe(0);
      expect(result.figures['hours billed']).toBeGreaterThanOrEqual(4);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 240_000);
});
