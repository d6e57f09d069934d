/** Builds the packages a child-process test runs (once per test run), so it loads what users load. */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/** The repository root. */
export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

const built = new Map<string, Promise<void>>();

/**
 * Compiles the given packages (and what they reference) with `tsc -b`, once per test process. Tests that start other
 * Node processes run the built packages, since plain Node cannot load the TypeScript sources.
 */
export function ensureBuilt(...packages: string[]): Promise<void> {
  const key = packages.join(' ');
  let done = built.get(key);
  if (done === undefined) {
    done = promisify(execFile)(
      process.execPath,
      [`${repoRoot}node_modules/typescript/bin/tsc`, '-b', ...packages.map((p) => `packages/${p}`)],
      { cwd: repoRoot },
    ).then(
      () => undefined,
      (error: { stdout?: string; message: string }) => {
        throw new Error(`building ${key} failed: ${error.stdout ?? error.message}`);
      },
    );
    built.set(key, done);
  }
  return done;
}
