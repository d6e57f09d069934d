import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import {
  createMeteringEngine,
  HOUR_MILLIS,
  isMeteringError,
  MeteringConfigurationError,
  silentLogger,
} from '@meterkit/core';
import { keyIdOf, type UsageDelta } from '@meterkit/core/store';
import { InMemorySink, ManualClock, sealAndReadBack } from '@meterkit/core/testing';
import { SqliteStore } from '@meterkit/sqlite';
import { ensureBuilt, repoRoot } from '@meterkit/test-support/build';
import Database from 'better-sqlite3';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openStore, scratchDir } from './helpers.js';

const H0 = Date.UTC(2026, 10, 26, 10);
const H1 = H0 + HOUR_MILLIS;
const LEASE = 60_000;
/** The built package, imported by absolute URL since the scripts live outside the repository. */
const BUILT = pathToFileURL(`${repoRoot}packages/sqlite/lib/esm/index.js`).href;
const key = (customer: string) =>
  keyIdOf({ productCode: 'prod-1', dimension: 'api_calls', customerIdentifier: customer });

let dir: ReturnType<typeof scratchDir>;
const stores: SqliteStore[] = [];
function open(options: Parameters<typeof openStore>[1] = {}, file = dir.file()): SqliteStore {
  const store = openStore(file, options);
  stores.push(store);
  return store;
}
async function sealOneRecordPerCustomer(store: SqliteStore, customers: number): Promise<void> {
  const deltas: UsageDelta[] = Array.from({ length: customers }, (_, i) => ({
    keyId: key(`c${i}`),
    hourStart: H0,
    quantity: i + 1,
  }));
  await store.addDeltas(deltas);
  while ((await store.sealClosedHours(H1, 1000)).more);
}

/** Runs a Node script (ESM) in its own process against the built packages; resolves with its stdout. */
function runScript(source: string, onStdout?: (text: string, kill: () => void) => void): Promise<string> {
  const file = dir.file(`script-${Math.random().toString(36).slice(2)}.mjs`);
  writeFileSync(file, source);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      onStdout?.(out, () => child.kill('SIGKILL'));
    });
    child.stderr.on('data', (chunk) => {
      err += chunk;
    });
    child.on('exit', (code, signal) =>
      code === 0 || signal === 'SIGKILL'
        ? resolve(out)
        : reject(new Error(`script failed (${code}): ${err}`)),
    );
  });
}

beforeAll(() => ensureBuilt('core', 'sqlite'), 120_000);
afterEach(async () => {
  for (const store of stores.splice(0)) await store.close();
  dir?.remove();
  dir = scratchDir();
});
dir = scratchDir();

describe('SqliteStore', () => {
  it('puts a late delta into the earliest open hour after a restart, because the closed-hour mark is stored', async () => {
    const first = open();
    await first.addDeltas([{ keyId: key('a'), hourStart: H0, quantity: 1 }]);
    await first.sealClosedHours(H1, 10);
    await first.close();
    const second = open();
    await second.addDeltas([{ keyId: key('a'), hourStart: H0, quantity: 4 }]);
    const { records } = await sealAndReadBack(second, H1 + HOUR_MILLIS, 10);
    expect(records.map((r) => [r.hourStart, r.quantity])).toEqual([[H1, 4]]);
  });

  it('hands records only to the submitter-lease holder until the lease lapses', async () => {
    const holder = open({ submitterLeaseMillis: 30_000 });
    const other = open({ submitterLeaseMillis: 30_000 });
    await sealOneRecordPerCustomer(holder, 2);
    expect(await holder.takeDue(H1, 1, LEASE)).toHaveLength(1);
    expect(await other.takeDue(H1 + 29_999, 10, LEASE)).toEqual([]);
    expect(await other.takeDue(H1 + 30_000, 10, LEASE)).toHaveLength(1);
    expect(await holder.takeDue(H1 + 30_001, 10, LEASE)).toEqual([]);
  });

  it('hands the submitter lease on at close, so the next process sends at once', async () => {
    const first = open();
    await sealOneRecordPerCustomer(first, 1);
    expect(await first.takeDue(H1, 0, LEASE)).toEqual([]);
    await first.close();
    const next = open();
    expect(await next.takeDue(H1, 10, LEASE)).toHaveLength(1);
  });

  it('never gives one record to two processes racing for claims on the same file', async () => {
    const setup = open({ synchronous: 'normal' });
    await sealOneRecordPerCustomer(setup, 400);
    await setup.close();
    // One shared submitter identity: the submitter lease would otherwise let only one racer claim at all.
    const barrier = dir.file(`barrier-${Math.random().toString(36).slice(2)}`);
    const racer = `
      import { appendFileSync, readFileSync } from 'node:fs';
      import { SqliteStore } from '${BUILT}';
      const store = new SqliteStore({ filename: ${JSON.stringify(dir.file())}, instanceId: 'racers', synchronous: 'normal' });
      const ids = [];
      // Start together, so the claims really interleave: each racer signs in, then waits for all four (however slowly
      // a loaded machine starts them).
      appendFileSync(${JSON.stringify(barrier)}, 'x');
      while (readFileSync(${JSON.stringify(barrier)}, 'utf8').length < 4) await new Promise((r) => setTimeout(r, 2));
      for (let empty = 0; empty < 3;) {
        const taken = await store.takeDue(${H1}, 2, ${LEASE});
        if (taken.length === 0) empty += 1; else empty = 0;
        for (const entry of taken) ids.push(entry.record.id);
        // SQLite's locks are not fair: a racer that went straight back for more could starve the others.
        await new Promise((r) => setTimeout(r, 1));
      }
      await store.close();
      process.stdout.write(JSON.stringify(ids));
    `;
    const outputs = await Promise.all([
      runScript(racer),
      runScript(racer),
      runScript(racer),
      runScript(racer),
    ]);
    const claimed = outputs.map((out) => JSON.parse(out) as string[]);
    const all = claimed.flat();
    expect(new Set(all).size).toBe(400);
    expect(all).toHaveLength(400);
    expect(claimed.filter((ids) => ids.length > 0).length).toBeGreaterThan(1);
  }, 60_000);

  it('hands a record claimed by a process that was killed to the next process once the lease expires', async () => {
    const setup = open();
    await sealOneRecordPerCustomer(setup, 1);
    await setup.close();
    const claimed = await runScript(
      `
      import { SqliteStore } from '${BUILT}';
      const store = new SqliteStore({ filename: ${JSON.stringify(dir.file())} });
      const [entry] = await store.takeDue(${H1}, 10, ${LEASE});
      process.stdout.write(JSON.stringify(entry.record) + '\\n');
      setInterval(() => {}, 1000);
    `,
      (text, kill) => text.endsWith('\n') && kill(),
    );
    const killedWith = JSON.parse(claimed);
    const next = open({ submitterLeaseMillis: 1_000 });
    expect(await next.takeDue(H1 + LEASE - 1, 10, LEASE)).toEqual([]);
    const [again] = await next.takeDue(H1 + LEASE, 10, LEASE);
    expect(again?.record).toEqual(killedWith);
    expect(again?.attempts).toBe(2);
  }, 60_000);

  it('keeps every committed checkpoint when the process is killed without closing', async () => {
    await runScript(
      `
      import { SqliteStore } from '${BUILT}';
      const store = new SqliteStore({ filename: ${JSON.stringify(dir.file())} });
      for (let i = 0; i < 50; i++) {
        await store.addDeltas([{ keyId: ${JSON.stringify(key('a'))}, hourStart: ${H0}, quantity: 2 }]);
      }
      process.stdout.write('written\\n');
      setInterval(() => {}, 1000);
    `,
      (text, kill) => text.endsWith('\n') && kill(),
    );
    const reopened = open();
    expect((await reopened.stats()).openUnits).toBe(100);
  }, 60_000);

  it('upgrades a schema 1 file in place: its outbox record is kept, and tagged usage then seals with allocations', async () => {
    const file = dir.file();
    const db = new Database(file);
    db.exec(`
      CREATE TABLE meterkit_state (id INTEGER PRIMARY KEY CHECK (id = 1), closed_before INTEGER, seq INTEGER NOT NULL,
        accepted INTEGER NOT NULL, submitter TEXT, submitter_until INTEGER);
      INSERT INTO meterkit_state (id, closed_before, seq, accepted) VALUES (1, NULL, 1, 0);
      CREATE TABLE meterkit_open (hour INTEGER NOT NULL, key_id TEXT NOT NULL, quantity INTEGER NOT NULL,
        UNIQUE (hour, key_id));
      CREATE TABLE meterkit_outbox (id TEXT PRIMARY KEY, key_id TEXT NOT NULL, hour INTEGER NOT NULL,
        quantity INTEGER NOT NULL, seq INTEGER NOT NULL, attempts INTEGER NOT NULL, state TEXT NOT NULL,
        claim TEXT, lease_until INTEGER, not_before INTEGER) WITHOUT ROWID;
      CREATE TABLE meterkit_dead (id TEXT PRIMARY KEY, key_id TEXT NOT NULL, hour INTEGER NOT NULL,
        quantity INTEGER NOT NULL, reason TEXT NOT NULL, detail TEXT NOT NULL, at INTEGER NOT NULL,
        attempts INTEGER NOT NULL, seq INTEGER NOT NULL) WITHOUT ROWID;
      CREATE TABLE meterkit_audit (seq INTEGER PRIMARY KEY AUTOINCREMENT, record_id TEXT NOT NULL,
        key_id TEXT NOT NULL, hour INTEGER NOT NULL, quantity INTEGER NOT NULL, metering_record_id TEXT,
        accepted_at INTEGER NOT NULL);
    `);
    db.prepare(
      "INSERT INTO meterkit_outbox (id, key_id, hour, quantity, seq, attempts, state) VALUES ('old', ?, ?, 4, 1, 0, 'ready')",
    ).run(key('a'), H0);
    db.pragma('user_version = 1');
    db.close();
    const store = open({}, file);
    await store.addDeltas([{ keyId: key('b'), hourStart: H0, quantity: 3, tags: '[["project","alpha"]]' }]);
    const { records: sealed } = await sealAndReadBack(store, H1, 10);
    expect(sealed[0]?.allocations).toEqual([{ tags: [{ key: 'project', value: 'alpha' }], quantity: 3 }]);
    const taken = await store.takeDue(H1, 10, LEASE);
    expect(taken.map((t) => [t.record.keyId, t.record.quantity, t.record.allocations])).toEqual([
      [key('a'), 4, undefined],
      [key('b'), 3, sealed[0]?.allocations],
    ]);
  });

  it('refuses a file written by a newer release instead of guessing its layout', async () => {
    const db = new Database(dir.file());
    db.pragma('user_version = 99');
    db.close();
    expect(() => open()).toThrow(MeteringConfigurationError);
  });

  it('rejects an unknown option, naming it', () => {
    const attempt = () => new SqliteStore({ filename: dir.file(), fileName: 'x' } as never);
    expect(attempt).toThrow(
      expect.objectContaining({ code: 'ERR_METERING_UNKNOWN_OPTION', field: 'fileName' }),
    );
  });

  it('rejects `toString`, which every object inherits, as an unknown option', () => {
    const attempt = () => new SqliteStore({ filename: dir.file(), toString: 'x' } as never);
    expect(attempt).toThrow(
      expect.objectContaining({ code: 'ERR_METERING_UNKNOWN_OPTION', field: 'toString' }),
    );
  });

  it('rejects a missing filename, naming the field', () => {
    const attempt = () => new SqliteStore({} as never);
    expect(attempt).toThrow(
      expect.objectContaining({ code: 'ERR_METERING_INVALID_OPTION', field: 'filename' }),
    );
  });

  it('reports a failed call as a store error after the store is closed', async () => {
    const store = open();
    await store.close();
    const failure = await store.stats().catch((error: unknown) => error);
    expect(isMeteringError(failure) && failure.code).toBe('ERR_METERING_STORE');
  });
});

describe('SqliteStore under the engine', () => {
  it('bills an hour counted by a process that shut down, once, from the next process on the same file', async () => {
    const clock = new ManualClock(H0 + 10 * 60_000);
    const sink = new InMemorySink({ clock });
    const customer = { customerIdentifier: 'cust-a', productCode: 'prod-1' };
    const options = {
      sink,
      productCode: 'prod-1',
      clock,
      timers: clock,
      logger: silentLogger,
      random: () => 0.5,
    };
    const first = createMeteringEngine({ ...options, store: open() });
    await first.start();
    first.record(customer, 'api_calls', 3);
    await clock.run(first.shutdown());
    expect(sink.calls).toHaveLength(0);

    const second = createMeteringEngine({ ...options, store: open() });
    await second.start();
    second.record(customer, 'api_calls', 4);
    await clock.advanceTo(H1 + 3 * 60_000);
    await clock.run(second.shutdown());
    expect([...sink.ledger.values()].map((b) => [b.record.hourStart, b.record.quantity])).toEqual([[H0, 7]]);
  });
});
