import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ensureBuilt } from '@meterkit/test-support/build';
import { beforeAll, expect, it } from 'vitest';

beforeAll(() => ensureBuilt('core'), 120_000);

it('forceFlush() keeps the process alive until the flush has sent everything', async () => {
  const script = fileURLToPath(new URL('./apps/force-flush.mjs', import.meta.url));
  const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (chunk) => {
    out += chunk;
  });
  const code = await new Promise((resolve) => child.once('exit', resolve));
  // Three records at one call per second: the flush waits on the rate limiter twice, on unref'd timers.
  expect(out).toBe('flushed 3\n');
  expect(code).toBe(0);
});
