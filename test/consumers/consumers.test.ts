// Installs the packed tarballs into small apps outside the repository, one per common consumer set-up, and runs them:
// ESM (nodenext), CommonJS (node16), bundler resolution, a plain CommonJS Express app, a Jest suite of a
// classic CommonJS Nest app (node10 resolution), and a Vitest suite.
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify, stripVTControlCharacters } from 'node:util';
import { repoRoot } from '@meterkit/test-support/build';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const FIXTURES = join(repoRoot, 'test/consumers/fixtures');
const ROOT_MODULES = join(repoRoot, 'node_modules');
const TSC = join(ROOT_MODULES, 'typescript/bin/tsc');
const PACKAGES = [
  'core',
  'aws-marketplace',
  'emulator',
  'express',
  'nestjs',
  'redis',
  'sqlite',
  'metrics',
  'cli',
];

interface Packed {
  readonly name: string;
  readonly filename: string;
  readonly files: { path: string }[];
}

interface Manifest {
  readonly dependencies?: Record<string, string>;
  readonly peerDependencies?: Record<string, string>;
  readonly peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  readonly exports?: unknown;
}

let workDir: string;
let tarballs: Map<string, string>;
let packed: Packed[];

/** Runs a command in `cwd` and returns its output; a failure reports both streams. */
async function sh(cwd: string, file: string, args: string[], timeout = 120_000): Promise<string> {
  try {
    const { stdout, stderr } = await run(file, args, {
      cwd,
      timeout,
      env: {
        ...process.env,
        NODE_OPTIONS: '',
        NODE_ENV: 'test',
        VITEST: undefined,
        VITEST_POOL_ID: undefined,
      },
    });
    return stripVTControlCharacters(stdout + stderr);
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(
      `${file} ${args.join(' ')} failed in ${cwd}:\n${e.stdout ?? ''}\n${e.stderr ?? e.message}`,
    );
  }
}

/**
 * Creates the app `name` from its fixture and installs into its node_modules what npm would: the @meterkit tarballs
 * given, their (non-@meterkit) dependencies and required peers, and the app's own `extras`. Third-party packages are
 * linked from the repository's node_modules (already installed from the lockfile; `from` picks another copy), so no
 * network is needed; optional peers are left out, as npm leaves them out.
 */
async function install(
  name: string,
  meterkit: string[],
  extras: string[],
  from: (dep: string) => string = (dep) => join(ROOT_MODULES, dep),
): Promise<string> {
  const dir = join(workDir, name);
  cpSync(join(FIXTURES, name), dir, { recursive: true });
  const modules = join(dir, 'node_modules');
  const thirdParty = new Set(extras);
  for (const pkg of meterkit) {
    const target = join(modules, '@meterkit', pkg);
    mkdirSync(target, { recursive: true });
    await sh(dir, 'tar', ['-xzf', tarballs.get(pkg)!, '-C', target, '--strip-components=1']);
    const manifest = JSON.parse(readFileSync(join(target, 'package.json'), 'utf8')) as Manifest;
    for (const dep of Object.keys(manifest.dependencies ?? {})) {
      if (dep.startsWith('@meterkit/')) {
        if (!meterkit.includes(dep.slice('@meterkit/'.length))) throw new Error(`${name} needs ${dep} too`);
      } else thirdParty.add(dep);
    }
    for (const peer of Object.keys(manifest.peerDependencies ?? {})) {
      if (manifest.peerDependenciesMeta?.[peer]?.optional !== true) thirdParty.add(peer);
    }
  }
  for (const dep of thirdParty) {
    const link = join(modules, dep);
    mkdirSync(dirname(link), { recursive: true });
    if (!existsSync(from(dep))) throw new Error(`${dep} is not installed in the repository`);
    symlinkSync(from(dep), link, 'dir');
  }
  return dir;
}

const ALL = PACKAGES;
// Nest 12 is ESM-only, which Jest's CommonJS runtime cannot require before Node 24.9: the Jest app uses Nest 11, the
// last CommonJS major (installed by the test/consumers/nest11 workspace).
const NEST11_MODULES = join(repoRoot, 'test/consumers/nest11/node_modules');
const fromNest11 = (dep: string): string =>
  join(dep.startsWith('@nestjs/') ? NEST11_MODULES : ROOT_MODULES, dep);
const SDK = '@aws-sdk/client-marketplace-metering';

beforeAll(async () => {
  for (const pkg of PACKAGES) {
    if (!existsSync(join(repoRoot, 'packages', pkg, 'lib/cjs/index.js'))) {
      throw new Error(`packages/${pkg} is not built: run \`npm run build\` (the root \`npm test\` does it)`);
    }
  }
  workDir = mkdtempSync(join(tmpdir(), 'meterkit-consumers-'));
  const out = await sh(repoRoot, 'npm', [
    'pack',
    '--json',
    '--ignore-scripts',
    '--pack-destination',
    workDir,
    ...PACKAGES.flatMap((p) => ['-w', `packages/${p}`]),
  ]);
  packed = JSON.parse(out.slice(out.indexOf('['))) as Packed[];
  tarballs = new Map(packed.map((p) => [p.name.replace('@meterkit/', ''), join(workDir, p.filename)]));
}, 180_000);

afterAll(() => {
  if (workDir !== undefined) rmSync(workDir, { recursive: true, force: true });
});

describe('npm pack', () => {
  it.each(PACKAGES)('@meterkit/%s ships LICENSE, both builds and no private export condition', (pkg) => {
    const entry = packed.find((p) => p.name === `@meterkit/${pkg}`)!;
    const files = entry.files.map((f) => f.path);
    expect(files).toEqual(
      expect.arrayContaining(['LICENSE', 'package.json', 'lib/esm/index.js', 'lib/cjs/index.js']),
    );
    expect(files.filter((f) => f.endsWith('.tsbuildinfo') || f.includes('/test/'))).toEqual([]);
  });
});

/** Copies the shared program (and the Express README's example) into an app and compiles it with its tsconfig. */
async function compileCommon(dir: string): Promise<void> {
  mkdirSync(join(dir, 'src'), { recursive: true });
  cpSync(join(FIXTURES, 'common/main.ts'), join(dir, 'src/main.ts'));
  cpSync(join(FIXTURES, 'common/express-app.ts'), join(dir, 'src/express-app.ts'));
  await sh(dir, process.execPath, [TSC, '-p', 'tsconfig.json']);
}

describe('consumer apps', () => {
  it.each([
    ['esm-nodenext', 'dist/main.js'],
    ['cjs-node16', 'dist/main.js'],
    ['bundler', 'dist/main.js'],
  ])('%s: compiles against the published types and meters into the emulator', async (app, main) => {
    const dir = await install(app, ALL, [SDK, '@types/node', '@types/express', 'express']);
    await compileCommon(dir);
    expect(await sh(dir, process.execPath, [main])).toContain('metered 14 units in us-east-1');
  });

  it('a plain CommonJS Express app without any test framework requires each entry point and meters', async () => {
    const dir = await install('cjs-express', ['core', 'aws-marketplace', 'sqlite', 'express'], []);
    expect(await sh(dir, process.execPath, ['main.js'])).toContain('metered 2 units from CommonJS');
  });

  it('a classic CommonJS Nest app compiles (node10 resolution) and its Jest suite meters into the emulator', async () => {
    const dir = await install(
      'nest-jest',
      ALL,
      [
        SDK,
        '@types/node',
        '@types/express',
        'express',
        '@nestjs/platform-express',
        '@nestjs/testing',
        'jest',
        '@jest/globals',
      ],
      fromNest11,
    );
    await sh(dir, process.execPath, [TSC, '-p', 'tsconfig.json']);
    const output = await sh(dir, process.execPath, [
      join(ROOT_MODULES, 'jest/bin/jest.js'),
      '--ci',
      '--runInBand',
    ]);
    expect(output).toMatch(/Tests:\s+2 passed, 2 total/);
  });

  it('a Vitest suite runs the published store contract against the published stores', async () => {
    const dir = await install('vitest', ['core', 'sqlite'], ['vitest', '@types/node']);
    const output = await sh(dir, process.execPath, [
      join(ROOT_MODULES, 'vitest/vitest.mjs'),
      'run',
      '--root',
      dir,
    ]);
    expect(output).toMatch(/Test Files\s+1 passed/);
  });
});
