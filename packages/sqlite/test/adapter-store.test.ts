import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { MemoryStore } from '@meterkit/core';
import { configurationErrorOf } from '@meterkit/core/testing';
import { openAdapterStore, SqliteStore } from '@meterkit/sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import { scratchDir } from './helpers.js';

let dir = scratchDir();
const opened: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
  dir.remove();
  dir = scratchDir();
});

describe('openAdapterStore', () => {
  it('opens a SQLite file at storePath by default, creating its directory', () => {
    const file = join(dir.file('nested'), 'usage.sqlite');
    const store = openAdapterStore(undefined, file, {});
    opened.push(store);
    expect(store).toBeInstanceOf(SqliteStore);
    expect(store.location).toBe(file);
    expect(existsSync(file)).toBe(true);
  });

  it('takes the file from METERKIT_STORE_PATH when no storePath is given', () => {
    const file = dir.file('from-env.sqlite');
    const store = openAdapterStore('sqlite', undefined, { METERKIT_STORE_PATH: file });
    opened.push(store);
    expect(store.location).toBe(file);
  });

  it("gives a memory store for 'memory' and passes a store instance through", () => {
    expect(openAdapterStore('memory', undefined, {})).toBeInstanceOf(MemoryStore);
    const mine = new MemoryStore();
    expect(openAdapterStore(mine, undefined, {})).toBe(mine);
  });

  it('refuses another store name, naming the option', () => {
    expect(configurationErrorOf(() => openAdapterStore('postgres', undefined, {})).field).toBe('store');
    expect(configurationErrorOf(() => openAdapterStore(undefined, 42, {})).field).toBe('storePath');
  });
});
