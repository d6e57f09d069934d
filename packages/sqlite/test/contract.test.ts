import type { UsageStore } from '@meterkit/core';
import { describeUsageStoreContract } from '@meterkit/core/testing/vitest';
import { SqliteStore } from '@meterkit/sqlite';
import { scratchDir } from './helpers.js';

const dirs: ReturnType<typeof scratchDir>[] = [];

describeUsageStoreContract(
  'SqliteStore',
  () => {
    const dir = scratchDir();
    dirs.push(dir);
    return new SqliteStore({ filename: dir.file() });
  },
  {
    reopen: async (store: UsageStore) => {
      const filename = (store as SqliteStore).options.filename;
      await store.close();
      return new SqliteStore({ filename });
    },
    cleanup: async (stores) => {
      for (const store of stores) await store.close();
      for (const dir of dirs.splice(0)) dir.remove();
    },
  },
);
