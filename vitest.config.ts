import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

// SWC instead of esbuild so Nest test fixtures get `design:paramtypes` (legacy decorators + metadata).
// The `@meterkit/source` condition makes workspace packages resolve to their TypeScript sources.
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
  resolve: { conditions: ['@meterkit/source'] },
  ssr: { resolve: { conditions: ['@meterkit/source'], externalConditions: ['@meterkit/source'] } },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts', 'examples/*/test/**/*.test.ts'],
    reporters: ['default', './test/support/count-reporter.ts'],
    setupFiles: ['./test/support/fast-check-seed.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
});
