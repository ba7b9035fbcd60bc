// Shared vitest settings. Every suite writes a JSON report next to itself so that
// tools/run-tests.mjs can print the plain "N passed, N failed" line CI reads.
import { defineConfig } from 'vitest/config'

/** Unit tests of one workspace package: everything but the KVM suites. */
export function unitConfig() {
  return defineConfig({
    test: {
      include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
      exclude: ['**/*.kvm.test.ts', '**/node_modules/**', '**/dist/**'],
      reporters: ['default', 'json'],
      outputFile: { json: 'test-results/unit.json' },
      // Not a time limit on the code (timing belongs in benchmarks): a backstop against hangs. The
      // default 5 s failed property and threading tests on loaded 2-core machines (check:fresh).
      testTimeout: 60_000,
      hookTimeout: 120_000,
    },
  })
}
