import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// Every package is loaded by a plain `node` process, as users load it: no `@meterkit/source` condition, so the
// `default` export target (the tsc build in lib/) is what gets imported. The root `npm test` builds first.
const root = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
const packagesDir = join(root, 'packages');

/** One export each entry point must have; an entry point not listed here must export at least one value. */
const knownExports: Record<string, string> = {
  '@meterkit/core': 'createMeteringEngine',
  '@meterkit/core/testing': 'InMemorySink',
  '@meterkit/core/http': 'watchFinish',
  '@meterkit/core/ops': 'readStatus',
  '@meterkit/cli': 'runCli',
  '@meterkit/metrics': 'instrumentMetering',
  '@meterkit/metrics/prometheus': 'registerMeteringMetrics',
  '@meterkit/nestjs/terminus': 'MeteringHealthIndicator',
  '@meterkit/aws-marketplace': 'MarketplaceMeteringSink',
  '@meterkit/emulator': 'startEmulator',
  '@meterkit/express': 'createMetering',
  '@meterkit/nestjs': 'MeteringModule',
  '@meterkit/redis': 'RedisStore',
  '@meterkit/sqlite': 'SqliteStore',
};

interface EntryPoint {
  /** What users write: `@meterkit/core` or `@meterkit/core/testing`. */
  readonly specifier: string;
  /** The built file the `default` condition points at. */
  readonly built: string;
}

type ExportTarget =
  | string
  | { readonly default?: ExportTarget; readonly [condition: string]: ExportTarget | undefined };

function defaultTarget(target: ExportTarget | undefined): string | undefined {
  if (target === undefined || typeof target === 'string') return target;
  return defaultTarget(target.default);
}

function entryPoints(): EntryPoint[] {
  const entries: EntryPoint[] = [];
  for (const dir of readdirSync(packagesDir).sort()) {
    const manifestPath = join(packagesDir, dir, 'package.json');
    if (!existsSync(manifestPath)) continue;
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as {
      name: string;
      private?: boolean;
      exports?: Record<string, ExportTarget>;
    };
    for (const [subpath, target] of Object.entries(manifest.exports ?? { '.': 'index.js' })) {
      if (subpath.endsWith('.json')) continue;
      const file = defaultTarget(target);
      if (file === undefined) continue;
      entries.push({
        specifier: subpath === '.' ? manifest.name : `${manifest.name}/${subpath.replace(/^\.\//, '')}`,
        built: join(packagesDir, dir, file),
      });
    }
  }
  return entries;
}

/** Loads `specifier` in a fresh Node process and returns the names it exports (as values). */
function load(
  specifier: string,
  system: 'commonjs' | 'module',
): { names: string[]; stderr: string; status: number | null } {
  const body =
    system === 'commonjs'
      ? 'const m = require(process.env.SPECIFIER);'
      : 'const m = await import(process.env.SPECIFIER);';
  const code = `${body} process.stdout.write(JSON.stringify(Object.keys(m).filter((k) => m[k] !== undefined)));`;
  const result = spawnSync(process.execPath, ['--no-warnings', `--input-type=${system}`, '-e', code], {
    cwd: root,
    env: { ...process.env, SPECIFIER: specifier, NODE_OPTIONS: '' },
    encoding: 'utf8',
    timeout: 60_000,
  });
  let names: string[] = [];
  try {
    names = JSON.parse(result.stdout) as string[];
  } catch {
    // reported through status and stderr
  }
  return { names, stderr: result.stderr, status: result.status };
}

const entries = entryPoints();

describe('packaging', () => {
  it('finds every package under packages/', () => {
    expect(entries.map((e) => e.specifier)).toEqual(expect.arrayContaining(Object.keys(knownExports)));
  });

  describe.each(entries)('$specifier', ({ specifier, built }) => {
    it('has been built', () => {
      expect(
        existsSync(built),
        `${specifier}: ${built} is missing. Build first: \`npm run build\` (the root \`npm test\` does it).`,
      ).toBe(true);
    });

    it.each(['commonjs', 'module'] as const)('loads from %s with its known export', (system) => {
      if (!existsSync(built))
        throw new Error(`${specifier} is not built (${built} is missing): run \`npm run build\``);
      const { names, stderr, status } = load(specifier, system);
      expect(status, `${system} load of ${specifier} failed:\n${stderr}`).toBe(0);
      const known = knownExports[specifier];
      if (known !== undefined) expect(names).toContain(known);
      else expect(names.length, `${specifier} exports no value`).toBeGreaterThan(0);
    });
  });
});
