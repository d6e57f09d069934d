/** Vitest configuration: sources aliased per entry point, SWC for Nest decorators, the count reporter. */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

const packagesDir = fileURLToPath(new URL('./packages/', import.meta.url));

/**
 * Every `@meterkit/*` entry point mapped to its TypeScript source, read from the manifests' `exports` (the ESM
 * declaration path `./lib/esm/X.d.ts` names the source `./src/X.ts`), so tests run the sources without a build and
 * without a private export condition in the published manifests. `@meterkit/test-support` (test/support, private)
 * needs no alias: its workspace link resolves to its own directory and its `exports` already name TypeScript sources.
 */
function sourceAliases(): { find: RegExp; replacement: string }[] {
  const aliases: { find: RegExp; replacement: string }[] = [];
  for (const dir of readdirSync(packagesDir)) {
    let manifest: { name: string; exports?: Record<string, { import?: { types?: string } } | string> };
    try {
      manifest = JSON.parse(readFileSync(`${packagesDir}${dir}/package.json`, 'utf8'));
    } catch {
      continue;
    }
    for (const [subpath, target] of Object.entries(manifest.exports ?? {})) {
      const types = typeof target === 'string' ? undefined : target.import?.types;
      if (types === undefined) continue;
      const specifier = subpath === '.' ? manifest.name : `${manifest.name}/${subpath.slice(2)}`;
      const source = types.replace(/^\.\/lib\/esm\//, 'src/').replace(/\.d\.ts$/, '.ts');
      aliases.push({
        find: new RegExp(`^${specifier.replace(/[/.-]/g, '\\$&')}$`),
        replacement: `${packagesDir}${dir}/${source}`,
      });
    }
  }
  return aliases;
}

// SWC instead of esbuild so Nest test fixtures get `design:paramtypes` (legacy decorators + metadata).
export default defineConfig({
  plugins: [
    swc.vite({
      jsc: {
        parser: { syntax: 'typescript', decorators: true },
        transform: { legacyDecorator: true, decoratorMetadata: true },
        target: 'es2022',
      },
    }),
  ],
  resolve: { alias: sourceAliases() },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts', 'examples/*/test/**/*.test.ts'],
    reporters: ['default', './test/support/count-reporter.ts'],
    setupFiles: ['./test/support/fast-check-seed.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
});
