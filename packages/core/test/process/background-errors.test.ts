// In a real process: a throwing logger, throwing listeners and a failing store never crash the host, and billing goes on.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ensureBuilt, repoRoot } from '@meterkit/test-support/build';
import { beforeAll, describe, expect, it } from 'vitest';

const CHILD = fileURLToPath(new URL('./background-errors.child.mjs', import.meta.url));

function runChild(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CHILD], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('background errors in a real process', () => {
  beforeAll(() => ensureBuilt('core'), 120_000);

  it('survives a throwing logger, throwing listeners and a store outage, and bills every unit served', async () => {
    const { code, stdout, stderr } = await runChild();
    expect(stderr).not.toMatch(/Unhandled|uncaught/i);
    expect(code).toBe(0);
    const { served, billed } = JSON.parse(stdout.trim().split('\n').at(-1) as string);
    expect(served).toBeGreaterThan(0);
    expect(billed).toBe(served);
  });
});
