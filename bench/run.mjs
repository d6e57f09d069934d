#!/usr/bin/env node
// Runs every benchmark in this folder, one after the other, each in its own Node process (so one bench's heap and JIT
// state cannot colour another's). Usage: `npm run bench` (builds first), or `node bench/run.mjs hot-path express`.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const all = ['hot-path', 'express', 'nestjs', 'stores'];
const selected = process.argv.slice(2).length > 0 ? process.argv.slice(2) : all;

let failed = 0;
for (const name of selected) {
  const file = `${here}${name}.mjs`;
  if (!existsSync(file)) {
    console.error(`bench: ${name}.mjs not found`);
    failed += 1;
    continue;
  }
  console.log(`\n=== bench/${name}.mjs ===\n`);
  const result = spawnSync(process.execPath, ['--expose-gc', file], { stdio: 'inherit' });
  if (result.status !== 0) failed += 1;
}
process.exit(failed === 0 ? 0 : 1);
