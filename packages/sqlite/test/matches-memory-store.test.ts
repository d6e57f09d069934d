import { itBehavesLikeTheMemoryStore } from '@meterkit/test-support/store-differential';
import { afterAll, describe } from 'vitest';
import { openStore, scratchDir } from './helpers.js';

describe('SqliteStore semantics', () => {
  const dir = scratchDir();
  let files = 0;
  afterAll(() => dir.remove());

  itBehavesLikeTheMemoryStore(() => openStore(dir.file(`run-${files++}.sqlite`), { synchronous: 'normal' }));
});
