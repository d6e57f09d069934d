import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MarketplaceMeteringSink } from '@meterkit/aws-marketplace';
import {
  createMeteringEngine,
  HOUR_MILLIS,
  type MeteringEngine,
  type MeteringOptions,
  silentLogger,
  type UsageStore,
} from '@meterkit/core';
import { ManualClock } from '@meterkit/core/testing';
import { type Emulator, startEmulator } from '@meterkit/emulator';
import { meteringAdmin } from '@meterkit/express';
import { RedisStore } from '@meterkit/redis';
import { SqliteStore } from '@meterkit/sqlite';
import { ensureBuilt, repoRoot } from '@meterkit/test-support/build';
import { testRedis, uniquePrefix } from '@meterkit/test-support/redis';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const PRODUCT = 'prod-cli00001';
const CREDENTIALS = { accessKeyId: 'AKIDCLITEST', secretAccessKey: 'cli-secret' };
const ok = { customerIdentifier: 'cust-ok-0001', productCode: PRODUCT };
/** Not subscribed when its record is first sent; subscribes again before the requeue. */
const gone = { customerIdentifier: 'cust-gone-0001', productCode: PRODUCT };
/** Not subscribed either, but its record's hour is about to leave the service window. */
const late = { customerIdentifier: 'cust-late-0001', productCode: PRODUCT };
const CLI = join(repoRoot, 'packages/cli/lib/esm/cli.js');

/** An engine sending to the emulator on the test's clock, with external scheduling and no month-end cutoff. */
function engineOnEmulator(
  emulator: Emulator,
  clock: ManualClock,
  options: Partial<MeteringOptions> = {},
): MeteringEngine {
  return createMeteringEngine({
    sink: new MarketplaceMeteringSink({
      logger: silentLogger,
      clientConfig: { endpoint: emulator.endpoint, region: 'us-east-1', credentials: CREDENTIALS },
    }),
    clock,
    timers: clock,
    scheduling: 'external',
    logger: silentLogger,
    productCode: PRODUCT,
    monthEndCutoffHourUtc: null,
    ...options,
  });
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `meterkit` as a child process, the way an operator does. */
function meterkit(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      {
        env: {
          ...process.env,
          AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
          AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
          AWS_REGION: 'us-east-1',
          ...env,
        },
      },
      (error, stdout, stderr) => {
        resolve({
          code: error === null ? 0 : Number((error as { code?: number }).code ?? 1),
          stdout,
          stderr,
        });
      },
    );
  });
}

/**
 * Fills `store` through a real engine against the emulator, on a clock at the real time (the CLI reads the real
 * clock): `ok` is billed; `gone` and `late` are dead-lettered as CustomerNotSubscribed; a record 25 h old is
 * dead-lettered as too old before it is sent.
 */
async function prepare(store: UsageStore): Promise<Emulator> {
  const now = Date.now();
  const clock = new ManualClock(now);
  const emulator = await startEmulator({
    now: () => clock.now(),
    products: [{ productCode: PRODUCT, dimensions: ['api_calls'] }],
    customers: [
      { productCode: PRODUCT, customerIdentifier: ok.customerIdentifier },
      { productCode: PRODUCT, customerIdentifier: gone.customerIdentifier, state: 'unsubscribed' },
      { productCode: PRODUCT, customerIdentifier: late.customerIdentifier, state: 'unsubscribed' },
    ],
  });
  const engine = engineOnEmulator(emulator, clock, { store });
  await engine.start();
  engine.record(ok, 'api_calls', 5, now - 3 * HOUR_MILLIS);
  engine.record(gone, 'api_calls', 7, now - 3 * HOUR_MILLIS);
  engine.record(late, 'api_calls', 9, now - 23 * HOUR_MILLIS);
  engine.record(ok, 'api_calls', 11, now - 25 * HOUR_MILLIS);
  await engine.forceFlush({ timeoutMillis: 60_000 });
  await engine.shutdown({ timeoutMillis: 0 });
  for (const c of [gone, late]) emulator.control.putCustomer({ ...c, state: 'subscribed' });
  return emulator;
}

const redis = await testRedis();
const stores = [
  {
    name: 'sqlite',
    open(): { store: UsageStore; target: string[]; cleanup(): void } {
      const dir = mkdtempSync(join(tmpdir(), 'meterkit-cli-'));
      const filename = join(dir, 'metering.sqlite');
      return {
        store: new SqliteStore({ filename }),
        target: ['--sqlite', filename],
        cleanup: () => rmSync(dir, { recursive: true, force: true }),
      };
    },
    skip: undefined as string | undefined,
  },
  {
    name: 'redis',
    open(): { store: UsageStore; target: string[]; cleanup(): void } {
      const prefix = uniquePrefix('cli');
      return {
        store: new RedisStore({ url: redis.url as string, keyPrefix: prefix }),
        target: ['--redis', redis.url as string, '--prefix', prefix],
        cleanup: () => undefined,
      };
    },
    skip: redis.skip,
  },
];

describe.each(stores)('meterkit on a $name store prepared by a real engine', ({ open, skip }) => {
  let emulator: Emulator;
  let target: string[];
  let cleanup: () => void;
  beforeAll(async () => {
    if (skip !== undefined) return;
    await ensureBuilt('cli');
    const opened = open();
    target = opened.target;
    cleanup = opened.cleanup;
    emulator = await prepare(opened.store);
  });
  afterAll(async () => {
    await emulator?.close();
    cleanup?.();
  });

  it.skipIf(skip !== undefined)('lists the dead letters with their reasons', async () => {
    const run = await meterkit(['dead-letters', 'list', ...target, '--json']);
    expect(run.code).toBe(0);
    const rows = JSON.parse(run.stdout) as { CustomerIdentifier: string; Reason: string; Quantity: number }[];
    expect(rows.map((r) => [r.CustomerIdentifier, r.Reason, r.Quantity]).sort()).toEqual([
      [gone.customerIdentifier, 'customer-not-subscribed', 7],
      [late.customerIdentifier, 'customer-not-subscribed', 9],
      [ok.customerIdentifier, 'too-old', 11],
    ]);
    const table = await meterkit(['dead-letters', 'list', ...target]);
    expect(table.stdout).toMatch(/^record\s+reason\s+customer\s+dimension\s+hour\s+quantity\s+detail/);
  });

  it.skipIf(skip !== undefined)(
    'status shows the dead letters by reason and exits 5 (attention)',
    async () => {
      const run = await meterkit(['status', ...target]);
      expect(run.code).toBe(5);
      expect(run.stdout).toContain('dead letters  3 (customer-not-subscribed 2, too-old 1)');
      expect(run.stdout).toMatch(/last accepted \d{4}-/);
    },
  );

  it.skipIf(skip !== undefined)(
    'requeues only the record the window still allows, refuses the others with a reason, and moves it once',
    async () => {
      const args = [
        'dead-letters',
        'requeue',
        ...target,
        '--min-window-left',
        '120',
        '--month-end-cutoff-hour',
        'none',
      ];
      const first = await meterkit([...args, '--json']);
      expect(first.code).toBe(6);
      const answer = JSON.parse(first.stdout) as {
        moved: number;
        requeued: { CustomerIdentifier: string }[];
        refused: { CustomerIdentifier: string; Why: string }[];
      };
      expect(answer.moved).toBe(1);
      expect(answer.requeued.map((r) => r.CustomerIdentifier)).toEqual([gone.customerIdentifier]);
      expect(answer.refused.map((r) => [r.CustomerIdentifier, r.Why]).sort()).toEqual([
        [late.customerIdentifier, expect.stringContaining('service window')],
        [ok.customerIdentifier, expect.stringContaining('too old')],
      ]);
      const second = JSON.parse((await meterkit([...args, '--json'])).stdout) as {
        moved: number;
        requeued: unknown[];
      };
      expect(second).toMatchObject({ moved: 0, requeued: [] });
    },
  );

  it.skipIf(skip !== undefined)(
    'flush sends the requeued record; the emulator bills it exactly once',
    async () => {
      const flush = [
        'flush',
        ...target,
        '--endpoint',
        emulator.endpoint,
        '--month-end-cutoff-hour',
        'none',
        '--json',
      ];
      const first = await meterkit(flush);
      expect(first.code).toBe(0);
      expect(JSON.parse(first.stdout)).toMatchObject({ accepted: 1, pending: 0 });
      const second = await meterkit(flush);
      expect(JSON.parse(second.stdout)).toMatchObject({ accepted: 0, calls: 0, pending: 0 });
      const billed = emulator.ledger.records().map((r) => [r.customerIdentifier, r.quantity]);
      expect(billed.sort()).toEqual([
        [gone.customerIdentifier, 7],
        [ok.customerIdentifier, 5],
      ]);
    },
  );

  it.skipIf(skip !== undefined)(
    'audit export writes CSV with the MeteringRecordId AWS gave each record',
    async () => {
      const run = await meterkit(['audit', 'export', ...target]);
      expect(run.code).toBe(0);
      const [header, ...rows] = run.stdout.trimEnd().split('\r\n');
      expect(header).toBe(
        'MeteringRecordId,ProductCode,CustomerIdentifier,CustomerAWSAccountId,LicenseArn,Dimension,Timestamp,Quantity,AcceptedAt,RecordId',
      );
      const ids = rows.map((row) => row.split(',')[0]).sort();
      expect(ids).toEqual(
        emulator.ledger
          .records()
          .map((r) => r.meteringRecordId)
          .sort(),
      );
    },
  );
});

describe('meterkit on a running app (--url)', () => {
  const TOKEN = 'operator-token-0123456789abcdef';
  let server: Server;
  let url: string;
  let engine: MeteringEngine;
  let emulator: Emulator;
  beforeAll(async () => {
    await ensureBuilt('cli');
    const clock = new ManualClock(Date.now());
    emulator = await startEmulator({
      now: () => clock.now(),
      customers: [
        { productCode: PRODUCT, customerIdentifier: gone.customerIdentifier, state: 'unsubscribed' },
      ],
    });
    engine = engineOnEmulator(emulator, clock);
    await engine.start();
    const app = express();
    app.use('/_meterkit', meteringAdmin(engine, { token: TOKEN }));
    server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/_meterkit`;
    engine.record(gone, 'api_calls', 7, clock.now() - 3 * HOUR_MILLIS);
    await engine.forceFlush({ timeoutMillis: 60_000 });
    emulator.control.putCustomer({ ...gone, state: 'subscribed' });
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    await engine?.shutdown({ timeoutMillis: 0 });
    await emulator?.close();
  });

  it('exits 4 when the app refuses the token', async () => {
    const run = await meterkit(['status', '--url', url, '--token', 'not-the-token']);
    expect(run.code).toBe(4);
    expect(run.stderr).toContain('refused the admin token');
  });

  it('shows the last call and the dead letter, then requeues and flushes it: billed once', async () => {
    const env = { METERKIT_ADMIN_TOKEN: TOKEN };
    const status = await meterkit(['status', '--url', url], env);
    expect(status.code).toBe(5);
    expect(status.stdout).toContain('last call     answered');
    expect(status.stdout).toContain('dead letters  1 (customer-not-subscribed 1)');
    const requeue = await meterkit(['dead-letters', 'requeue', '--url', url, '--json'], env);
    expect(requeue.code).toBe(0);
    expect(JSON.parse(requeue.stdout)).toMatchObject({ moved: 1, refused: [] });
    const flush = await meterkit(['flush', '--url', url, '--json'], env);
    expect(JSON.parse(flush.stdout)).toMatchObject({ accepted: 1, pending: 0 });
    expect(emulator.ledger.records().map((r) => [r.customerIdentifier, r.quantity])).toEqual([
      [gone.customerIdentifier, 7],
    ]);
  });
});

describe('meterkit command line', () => {
  it('exits 2 with a hint when no target is given', async () => {
    await ensureBuilt('cli');
    const run = await meterkit(['status']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('give exactly one target');
  });

  it('exits 3 when the SQLite file does not exist (rather than creating an empty store)', async () => {
    await ensureBuilt('cli');
    const run = await meterkit(['status', '--sqlite', join(tmpdir(), 'meterkit-no-such-store.sqlite')]);
    expect(run.code).toBe(3);
  });
});
