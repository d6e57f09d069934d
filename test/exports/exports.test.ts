import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// Every package is loaded by a plain `node` process, as users load it: `import` gets the ES module build (lib/esm),
// `require` the CommonJS build (lib/cjs). The root `npm test` builds first.
const root = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
const packagesDir = join(root, 'packages');

/** One export each entry point must have; an entry point not listed here must export at least one value. */
const knownExports: Record<string, string> = {
  '@meterkit/core': 'createMeteringEngine',
  '@meterkit/core/testing': 'InMemorySink',
  '@meterkit/core/http': 'watchFinish',
  '@meterkit/core/testing/vitest': 'describeUsageStoreContract',
  '@meterkit/core/ops': 'readStatus',
  '@meterkit/core/store': 'sealRecord',
  '@meterkit/core/sink': 'checkRule',
  '@meterkit/core/adapter': 'splitAdapterOptions',
  '@meterkit/cli': 'runCli',
  '@meterkit/metrics': 'instrumentMetering',
  '@meterkit/metrics/prometheus': 'registerMeteringMetrics',
  '@meterkit/nestjs/terminus': 'MeteringHealthIndicator',
  '@meterkit/aws-marketplace': 'MarketplaceMeteringSink',
  '@meterkit/emulator': 'startEmulator',
  '@meterkit/express': 'createMetering',
  '@meterkit/nestjs': 'MeteringModule',
  '@meterkit/nestjs/testing': 'MeteringTestingModule',
  '@meterkit/redis': 'RedisStore',
  '@meterkit/sqlite': 'SqliteStore',
};

interface EntryPoint {
  /** What users write: `@meterkit/core` or `@meterkit/core/testing`. */
  readonly specifier: string;
  /** The built file each condition points at. */
  readonly built: { readonly module: string; readonly commonjs?: string };
  /** Every condition its `exports` entry uses. */
  readonly conditions: readonly string[];
}

type ExportTarget =
  | string
  | { readonly default?: ExportTarget; readonly [condition: string]: ExportTarget | undefined };

/** The conditions a published manifest may use: public ones only (no private condition for the repository's tests). */
const PUBLIC_CONDITIONS = new Set(['import', 'require', 'types', 'default']);

function defaultTarget(
  target: ExportTarget | undefined,
  condition: 'import' | 'require',
): string | undefined {
  if (target === undefined || typeof target === 'string') return target;
  return defaultTarget(target[condition] ?? target.default, condition);
}

function conditionsOf(target: ExportTarget | undefined): string[] {
  if (target === undefined || typeof target === 'string') return [];
  return Object.entries(target).flatMap(([name, inner]) => [name, ...conditionsOf(inner)]);
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
      const esm = defaultTarget(target, 'import');
      const cjs = defaultTarget(target, 'require');
      if (esm === undefined) continue;
      entries.push({
        specifier: subpath === '.' ? manifest.name : `${manifest.name}/${subpath.replace(/^\.\//, '')}`,
        // An entry point with no `require` condition (the Vitest suites: Vitest itself is ESM-only) has no CommonJS build.
        built: {
          module: join(packagesDir, dir, esm),
          ...(cjs === undefined ? {} : { commonjs: join(packagesDir, dir, cjs) }),
        },
        conditions: conditionsOf(target),
      });
    }
  }
  return entries;
}

/** Loads `specifier` in a fresh Node process and returns the names it exports (as values). */
function load(
  specifier: string,
  system: 'commonjs' | 'module',
): { names: string[]; file: string; stderr: string; status: number | null } {
  const body =
    system === 'commonjs'
      ? 'const m = require(process.env.SPECIFIER); const file = require.resolve(process.env.SPECIFIER);'
      : 'const m = await import(process.env.SPECIFIER); const file = fileURLToPath(import.meta.resolve(process.env.SPECIFIER));';
  const imports = system === 'commonjs' ? '' : "import { fileURLToPath } from 'node:url';";
  const code = `${imports}${body} process.stdout.write(JSON.stringify({ file, names: Object.keys(m).filter((k) => m[k] !== undefined) }));`;
  const result = spawnSync(process.execPath, ['--no-warnings', `--input-type=${system}`, '-e', code], {
    cwd: root,
    env: { ...process.env, SPECIFIER: specifier, NODE_OPTIONS: '' },
    encoding: 'utf8',
    timeout: 60_000,
  });
  let loaded = { names: [] as string[], file: '' };
  try {
    loaded = JSON.parse(result.stdout) as typeof loaded;
  } catch {
    // reported through status and stderr
  }
  return { ...loaded, stderr: result.stderr, status: result.status };
}

const entries = entryPoints();

describe('packaging', () => {
  it('finds every package under packages/', () => {
    expect(entries.map((e) => e.specifier)).toEqual(expect.arrayContaining(Object.keys(knownExports)));
  });

  it.each(readdirSync(packagesDir).filter((dir) => existsSync(join(packagesDir, dir, 'package.json'))))(
    'ships the Apache-2.0 LICENSE of the repository in %s',
    (dir) => {
      expect(readFileSync(join(packagesDir, dir, 'LICENSE'), 'utf8')).toBe(
        readFileSync(join(root, 'LICENSE'), 'utf8'),
      );
    },
  );

  describe.each(entries)('$specifier', ({ specifier, built, conditions }) => {
    const systems = (['commonjs', 'module'] as const).filter((system) => built[system] !== undefined);

    it('uses public export conditions only', () => {
      expect(conditions.filter((c) => !PUBLIC_CONDITIONS.has(c))).toEqual([]);
    });

    it.each(systems)('has its %s build', (system) => {
      expect(
        existsSync(built[system]!),
        `${specifier}: ${built[system]} is missing. Build first: \`npm run build\` (the root \`npm test\` does it).`,
      ).toBe(true);
    });

    it.each(systems)('loads from %s with its known export', (system) => {
      if (!existsSync(built[system]!))
        throw new Error(`${specifier} is not built (${built[system]} is missing): run \`npm run build\``);
      const { names, file, stderr, status } = load(specifier, system);
      expect(status, `${system} load of ${specifier} failed:\n${stderr}`).toBe(0);
      expect(file).toBe(built[system]);
      const known = knownExports[specifier];
      if (known !== undefined) expect(names).toContain(known);
      else expect(names.length, `${specifier} exports no value`).toBeGreaterThan(0);
    });
  });
});
