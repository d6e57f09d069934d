import type { CustomerRegistry } from '@meterkit/core';
import { describeCustomerRegistryContract } from '@meterkit/core/testing/vitest';
import { SqliteRegistry, SqliteStore } from '@meterkit/sqlite';
import { describe, expect, it } from 'vitest';
import { scratchDir } from './helpers.js';

const dirs: ReturnType<typeof scratchDir>[] = [];

describeCustomerRegistryContract(
  'SqliteRegistry',
  () => {
    const dir = scratchDir();
    dirs.push(dir);
    return new SqliteRegistry({ filename: dir.file() });
  },
  {
    reopen: async (registry: CustomerRegistry) => {
      const { filename } = registry as SqliteRegistry;
      await registry.close();
      return new SqliteRegistry({ filename });
    },
    another: async (registry: CustomerRegistry) =>
      new SqliteRegistry({ filename: (registry as SqliteRegistry).filename }),
    cleanup: async (registries) => {
      for (const registry of registries) await registry.close();
      for (const dir of dirs.splice(0)) dir.remove();
    },
  },
);

describe('SqliteRegistry', () => {
  it('shares a database file with a SqliteStore', async () => {
    // Prepare
    const dir = scratchDir();
    const store = new SqliteStore({ filename: dir.file() });
    const registry = new SqliteRegistry({ filename: dir.file() });
    try {
      // Act
      await store.addDeltas([{ keyId: '["C","p","c","d"]', hourStart: 0, quantity: 1 }]);
      await registry.register({
        customer: { customerIdentifier: 'c', productCode: 'p' },
        productCode: 'p',
        at: 1,
      });
      // Assess
      expect((await store.stats()).openUnits).toBe(1);
      expect(await registry.list()).toHaveLength(1);
    } finally {
      await store.close();
      await registry.close();
      dir.remove();
    }
  });

  it('refuses an unknown option, naming it', () => {
    expect(() => new SqliteRegistry({ filename: 'x', path: 'y' } as never)).toThrow(
      /Unknown SqliteRegistry option `path`/,
    );
  });
});
